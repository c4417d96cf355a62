import { findLeak } from './leaks.ts';
import type { SubscriberRecord } from './record.ts';

/** The job's full history as far as anyone knows it: seq → data. */
export type History = Map<number, string>;

/**
 * Builds the reference history from what the bus still holds and what every subscriber got.
 * Two different payloads for one seq is itself a problem (two writers disagreed).
 */
export function referenceHistory(stored: { seq: number; data: string }[], records: SubscriberRecord[], problems: string[]): History {
  const history: History = new Map();
  const add = (seq: number, data: string, who: string) => {
    const known = history.get(seq);
    if (known === undefined) history.set(seq, data);
    else if (known !== data) problems.push(`seq ${seq}: ${who} got different data than another subscriber or the bus`);
  };
  for (const event of stored) add(event.seq, event.data, 'the bus');
  for (const record of records) for (const event of record.events) add(event.seq, event.data, record.name);
  return new Map([...history.entries()].sort(([a], [b]) => a - b));
}

/** Per-subscriber guarantees: order, no duplicates, nothing missing unless announced, terminal, no secret. */
export function checkSubscriber(record: SubscriberRecord, history: History, secrets: string[]): string[] {
  const problems: string[] = [];
  const say = (what: string) => problems.push(`${record.name}: ${what}`);
  if (record.failure) say(record.failure);
  if (!record.terminal) say('never received the terminal event');
  const seqs = record.events.map((e) => e.seq);
  for (let i = 1; i < seqs.length; i++) {
    if ((seqs[i] as number) <= (seqs[i - 1] as number)) {
      say(`seq ${seqs[i]} after ${seqs[i - 1]} (${(seqs[i] as number) === (seqs[i - 1] as number) ? 'duplicate' : 'out of order'})`);
      break;
    }
  }
  const got = new Set(seqs);
  const last = seqs.at(-1) ?? -1;
  const announced = (seq: number) => record.gaps.some((gap) => seq >= gap.from && seq <= gap.to);
  const missing = [...history.keys()].filter((seq) => seq <= last && !got.has(seq) && !announced(seq));
  if (missing.length > 0) say(`missing seqs without a gap frame: ${missing.slice(0, 10).join(',')}${missing.length > 10 ? '…' : ''}`);
  const text = record.raw.join('');
  for (const secret of secrets) {
    const form = findLeak(text, secret);
    if (form) say(`received the token (${form})`);
  }
  return problems;
}

/** Leak check of any other text (create replies, job reads, gateway logs). */
export function checkText(what: string, text: string, secrets: string[]): string[] {
  return secrets.flatMap((secret) => {
    const form = findLeak(text, secret);
    return form ? [`${what}: contains the token (${form})`] : [];
  });
}
