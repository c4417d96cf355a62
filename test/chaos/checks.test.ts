import { describe, expect, it } from 'vitest';
import { checkSubscriber, referenceHistory } from './harness/checks.ts';
import { findLeak } from './harness/leaks.ts';
import { type SubscriberRecord, newRecord, recordMessage } from './harness/record.ts';

// The chaos checks themselves: each must catch what it claims to, and pass what is fine.

const TOKEN = 'ChaosCanary-0123456789abcdef0123';
const ev = (seq: number, terminal = false) => ({
  id: String(seq),
  data: JSON.stringify({ event: terminal ? 'midjourney_completed' : 'midjourney_progress', seq }),
});

function subscriber(seqs: number[], gaps: { from: number; to: number }[] = [], raw = ''): SubscriberRecord {
  const record = newRecord('s');
  for (const gap of gaps) recordMessage(record, { event: 'gap', data: JSON.stringify(gap) });
  for (const [i, seq] of seqs.entries()) recordMessage(record, ev(seq, i === seqs.length - 1));
  record.raw.push(raw);
  return record;
}

describe('chaos checks', () => {
  const full = subscriber([0, 1, 2, 3, 4]);
  const history = referenceHistory([], [full], []);

  it('pass a complete, ordered subscriber, and one whose hole a gap frame announced', () => {
    expect(checkSubscriber(full, history, [TOKEN])).toEqual([]);
    expect(checkSubscriber(subscriber([0, 3, 4], [{ from: 1, to: 2 }]), history, [TOKEN])).toEqual([]);
  });

  it('catch duplicates, disorder, silent holes and a missing terminal', () => {
    expect(checkSubscriber(subscriber([0, 1, 1, 2, 3, 4]), history, [])).toEqual(['s: seq 1 after 1 (duplicate)']);
    expect(checkSubscriber(subscriber([0, 2, 1, 3, 4]), history, [])).toEqual(['s: seq 1 after 2 (out of order)']);
    expect(checkSubscriber(subscriber([0, 3, 4], [{ from: 1, to: 1 }]), history, [])).toEqual(['s: missing seqs without a gap frame: 2']);
    const cut = newRecord('s');
    recordMessage(cut, ev(0));
    expect(checkSubscriber(cut, history, [])).toEqual(['s: never received the terminal event']);
  });

  it('notice two payloads for one seq', () => {
    const other = newRecord('t');
    recordMessage(other, { id: '2', data: '{"event":"midjourney_progress","seq":2,"x":1}' });
    const problems: string[] = [];
    referenceHistory([], [full, other], problems);
    expect(problems).toEqual(['seq 2: t got different data than another subscriber or the bus']);
  });

  it('find the token raw and in every decoded form, not in redacted text', () => {
    const escaped = [...TOKEN].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');
    const forms: Record<string, string> = {
      raw: `x ${TOKEN} y`,
      'json-unescaped': `{"e":"Bearer ${escaped}"}`,
      'raw+base64': `{"e":"${Buffer.from(`Bearer ${TOKEN}`).toString('base64')}"}`,
      'raw+percent-decoded': [...Buffer.from(TOKEN)].map((b) => `%${b.toString(16).toUpperCase()}`).join(''),
      'raw+hex': `{"e":"${Buffer.from(TOKEN).toString('hex')}"}`,
    };
    // Base64 of Basic credentials with every `/` JSON-escaped as `\/`: found whichever layer decodes it.
    const basic = `"Basic ${Buffer.from(`user:${TOKEN}`).toString('base64').replace(/\//g, '\\/')}"`;
    expect(findLeak(basic, TOKEN)).not.toBeNull();
    for (const [form, text] of Object.entries(forms)) expect([form, findLeak(text, TOKEN)]).toEqual([form, form]);
    expect(findLeak('{"e":"Bearer [REDACTED]"}', TOKEN)).toBeNull();
    expect(checkSubscriber(subscriber([0, 1, 2, 3, 4], [], forms['raw+hex']), history, [TOKEN])).toEqual([
      's: received the token (raw+hex)',
    ]);
  });
});
