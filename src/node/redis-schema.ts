import type { StoredEvent } from '../core/bus/bus.ts';

/**
 * Where one job lives in Redis. Every key and the channel carry the job id as a hash tag,
 * `{<jobId>}`, so a job's keys share one Redis Cluster slot and one Lua script can touch
 * them all.
 */
export interface JobKeys {
  /** Stream of the retained events: entry id `<seq>-1`, fields p (prev), d (data), t (terminal 0|1). */
  events: string;
  /** Hash: lastSeq, terminalSeq (once over), snapshot (latest job object event). */
  meta: string;
  /** String holding the follow lease's owner id, with a PX expiry. */
  lease: string;
  /** Pub/sub channel carrying each stored event once, encoded by the append script. */
  channel: string;
}

export function jobKeys(prefix: string, jobId: string): JobKeys {
  if (jobId === '' || /[{}\s]/.test(jobId)) throw new TypeError(`job id unusable as a Redis hash tag: ${JSON.stringify(jobId)}`);
  const base = `${prefix}:{${jobId}}`;
  return { events: `${base}:events`, meta: `${base}:meta`, lease: `${base}:lease`, channel: base };
}

const isSeq = (n: number) => Number.isSafeInteger(n) && n >= 0;

/**
 * Decodes a pub/sub message `seq\nprev\nterminal\ndata` (data may hold newlines); null when
 * malformed, so a stray publish on our channel is dropped instead of corrupting a feed.
 */
export function decodeMessage(message: string): StoredEvent | null {
  const a = message.indexOf('\n');
  const b = message.indexOf('\n', a + 1);
  const c = message.indexOf('\n', b + 1);
  if (a < 0 || b < 0 || c < 0) return null;
  const seq = Number(message.slice(0, a));
  const prev = Number(message.slice(a + 1, b));
  const terminal = message.slice(b + 1, c);
  if (!isSeq(seq) || !Number.isSafeInteger(prev) || prev < -1 || prev >= seq) return null;
  if (terminal !== '0' && terminal !== '1') return null;
  return { seq, prev, terminal: terminal === '1', data: message.slice(c + 1) };
}

/** Decodes XRANGE replies into stored events, skipping entries that are not ours. */
export function decodeEntries(entries: [id: string, fields: string[]][]): StoredEvent[] {
  const events: StoredEvent[] = [];
  for (const [id, fields] of entries) {
    const values = new Map<string, string>();
    for (let i = 0; i + 1 < fields.length; i += 2) values.set(fields[i] as string, fields[i + 1] as string);
    const seq = Number(id.slice(0, id.indexOf('-')));
    const prev = Number(values.get('p'));
    const data = values.get('d');
    if (!isSeq(seq) || !Number.isSafeInteger(prev) || data === undefined) continue;
    events.push({ seq, prev, data, terminal: values.get('t') === '1' });
  }
  return events;
}

/** First stream id to read for events with seq > afterSeq. */
export function streamStart(afterSeq: number): string {
  return afterSeq < 0 ? '-' : `${Math.floor(afterSeq) + 1}-0`;
}
