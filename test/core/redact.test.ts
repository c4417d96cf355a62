import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readEvents } from '../../src/core/ingest/upstream-stream.ts';
import { REDACTED, createRedactor } from '../../src/core/redact.ts';
import { findDecoded } from '../support/decode.ts';

const SECRET = 'tok-LEAK-CANARY-1234';
const SLASHED = 'tok/LEAK+CANARY/1234';
const redact = createRedactor([SECRET, SLASHED, undefined, 'ab']);

const b64 = (text: string) => Buffer.from(text).toString('base64');
const b64url = (text: string) => Buffer.from(text).toString('base64url');
const hex = (text: string) => Buffer.from(text).toString('hex');
const everyByte = (text: string, upper: boolean) =>
  [...Buffer.from(text)].map((b) => `%${b.toString(16).padStart(2, '0')[upper ? 'toUpperCase' : 'toLowerCase']()}`).join('');
const unicodeEscaped = (text: string, upper = true) =>
  [...text].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')[upper ? 'toUpperCase' : 'toLowerCase']()}`).join('');
/** Escapes every other character, the rest raw. */
const halfEscaped = (text: string) => [...text].map((c, i) => (i % 2 ? unicodeEscaped(c, i % 4 === 1) : c)).join('');

/** Each form a consumer would decode back to a secret, as it could appear in received text. */
const FORMS: [string, string, string][] = [
  ['raw', SECRET, SECRET],
  ['JSON \\u escapes, upper-case hex', SECRET, unicodeEscaped(SECRET)],
  ['JSON \\u escapes, lower-case hex', SECRET, unicodeEscaped(SECRET, false)],
  ['a mix of escaped and raw characters', SECRET, halfEscaped(SECRET)],
  ['\\/ for a slash', SLASHED, SLASHED.replace(/\//g, '\\/')],
  ['percent-encoding of every byte, upper case', SECRET, everyByte(SECRET, true)],
  ['percent-encoding of every byte, lower case', SECRET, everyByte(SECRET, false)],
  ['encodeURIComponent', SLASHED, encodeURIComponent(SLASHED)],
  ['percent-encoding mixed with raw characters', SLASHED, 'tok%2fLEAK%2bCANARY/1234'],
  ['hex, lower case', SECRET, hex(SECRET)],
  ['hex, upper case', SECRET, hex(SECRET).toUpperCase()],
  ['base64', SECRET, b64(SECRET)],
  ['base64 without padding', SECRET, b64(SECRET).replace(/=+$/, '')],
  ['base64 of Bearer <token>', SECRET, b64(`Bearer ${SECRET}`)],
  ['base64 of user:<token> (Basic auth)', SECRET, `Basic ${b64(`user:${SECRET}`)}`],
  ['base64 of x:<token>', SECRET, b64(`x:${SECRET}`)],
  ['base64url of a blob holding it', SLASHED, b64url(`{"token":"${SLASHED}"}`)],
  ['base64 of the slashed secret', SLASHED, b64(`ab${SLASHED}`)],
];

describe('createRedactor: what a consumer would decode, not only the bytes', () => {
  it.each(FORMS)('catches %s', (_what, secret, form) => {
    const out = redact(`before ${form} after`);
    expect(out).toContain(REDACTED);
    expect(findDecoded(out, secret)).toBeUndefined();
  });

  it.each(FORMS)('catches %s inside a JSON string, as a browser JSON.parse would restore it', (_what, secret, form) => {
    const json = `{"event":"midjourney_progress","seq":3,"job":{"error":"${form.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"}}`;
    const out = redact(json);
    expect(JSON.stringify(JSON.parse(out))).not.toContain(secret);
    expect(findDecoded(out, secret)).toBeUndefined();
  });

  it('catches JSON escapes hiding inside other encodings (base64 with \\/, a \\u-escaped %)', () => {
    const base64 = b64(`ab${SLASHED}`);
    const escaped = `{"a":"${base64.replace(/\//g, '\\/')}","b":"${everyByte(SECRET, true).replace(/%/g, '\\u0025')}"}`;
    const out = redact(escaped);
    const parsed = JSON.parse(out) as { a: string; b: string };
    expect(findDecoded(parsed.a, SLASHED)).toBeUndefined();
    expect(findDecoded(parsed.b, SECRET)).toBeUndefined();
  });

  it('catches JSON inside a JSON string (double-encoded)', () => {
    const inner = JSON.stringify({ token: unicodeEscaped(SECRET) });
    const out = redact(JSON.stringify({ event: 'x', seq: 1, payload: inner }));
    expect(findDecoded(out, SECRET)).toBeUndefined();
    expect(JSON.parse(JSON.parse(out).payload as string)).toEqual({ token: REDACTED });
  });

  it('catches secrets in JSON keys, and keeps a "__proto__" key an ordinary key', () => {
    const out = redact(`{"${unicodeEscaped(SECRET)}":1}`);
    expect(JSON.parse(out)).toEqual({ [REDACTED]: 1 });
    const proto = redact(`{"__proto__":{"a":"\\u0041"},"b":"${unicodeEscaped(SECRET)}"}`);
    expect(proto).toBe(`{"__proto__":{"a":"\\u0041"},"b":"${REDACTED}"}`);
  });

  it('redacts a text exactly as long as the shortest secret, and leaves shorter text alone', () => {
    const short = createRedactor(['k3y!', 'a-much-longer-secret']);
    expect(short('k3y!')).toBe(REDACTED);
    expect(short('%6B3y!')).toBe(REDACTED);
    expect(short('k3y')).toBe('k3y');
    expect(short('"\\u006b3y!"')).not.toContain('k3y!');
  });

  it('leaves text without a secret exactly as it was (no re-serialisation), escapes and all', () => {
    for (const text of [
      '{"event":"x","seq":1,"ts":"12:00:00.000"}',
      '{"a":"\\u0074ok-LEAK","b":"\\/path\\/","n":1.0,"dup":1,"dup":2}',
      'tok tok-L 746f6b2d4c45414b',
      'ab',
    ]) {
      expect(redact(text)).toBe(text);
    }
  });

  it('any printable secret, any encoding, at any place in any text: not decodable from the output', () => {
    const secret = fc.string({
      unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)),
      minLength: 8,
      maxLength: 40,
    });
    const encode = fc.constantFrom<(s: string) => string>(
      (s) => s,
      (s) => unicodeEscaped(s),
      (s) => halfEscaped(s),
      (s) => everyByte(s, true),
      (s) => everyByte(s, false),
      (s) => encodeURIComponent(s),
      (s) => hex(s),
      (s) => hex(s).toUpperCase(),
      (s) => b64(s),
      (s) => b64(`Bearer ${s}`),
      (s) => b64(`u:${s}`),
      (s) => b64(`us:${s}`),
      (s) => b64url(`user:${s}`),
      (s) => JSON.stringify({ t: s }).slice(1, -1),
    );
    fc.assert(
      fc.property(secret, encode, fc.string(), fc.string(), (s, enc, before, after) => {
        const out = createRedactor([s])(`${before} ${enc(s)} ${after}`);
        expect(findDecoded(out, s)).toBeUndefined();
      }),
      { numRuns: 400 },
    );
  });

  it('every form of every secret: any string value of a JSON event, decoded, holds none of them', () => {
    const secrets = ['upstream-token-0123', 'sim-token-4567abcd', 'key-test-0123456789abcdef', 's'.repeat(32)];
    const redactAll = createRedactor(secrets);
    fc.assert(
      fc.property(fc.constantFrom(...secrets), fc.constantFrom(...FORMS.map(([, , form]) => form)), (s, shape) => {
        const form = shape.replaceAll(SECRET, s);
        const out = redactAll(JSON.stringify({ event: 'e', seq: 1, job: { error: form } }));
        for (const secret of secrets) expect(findDecoded(out, secret)).toBeUndefined();
      }),
      { numRuns: 100 },
    );
  });
});

/** Reads SSE text through the ingestion pipeline (redaction included) and writes back what each event's data became. */
async function pipe(chunks: string[], signal?: AbortSignal, onData?: (data: string) => void): Promise<string> {
  const encoder = new TextEncoder();
  const source = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      if (!signal) controller.close();
    },
  });
  let out = '';
  await readEvents(source, {
    redact,
    nextSeq: () => 0,
    toEvent: (message) => ({ seq: 0, type: 'x', data: message.data, terminal: false }),
    onEvent(event) {
      onData?.(event.data);
      for (const line of event.data.split('\n')) out += `data: ${line}\n`;
      out += '\n';
    },
    ...(signal ? { signal } : {}),
  });
  return out;
}

describe('the ingestion pipeline redacts each event', () => {
  const text = `data: {"event":"error","error":"Authorization: Bearer ${SECRET}","seq":3}\n\ndata: {"seq":4,"x":"é ${unicodeEscaped(SECRET)}"}\n\n`;
  const expected = `data: {"event":"error","error":"Authorization: Bearer ${REDACTED}","seq":3}\n\ndata: {"seq":4,"x":"é ${REDACTED}"}\n\n`;

  it('redacts a secret split across chunks at every position, and escaped ones', async () => {
    for (let i = 1; i < text.length; i += 3) {
      for (const j of [i + 1, i + 7, i + 23]) {
        const out = await pipe([text.slice(0, i), text.slice(i, j), text.slice(j)]);
        expect(out).toBe(expected);
      }
    }
  });

  it('passes clean events through byte for byte, skips comments, never holds a finished event', async () => {
    const plain = 'data: {"seq":1,"t":"tok tok-L \\u0074"}\n\n: keep-alive\n';
    expect(await pipe([plain])).toBe('data: {"seq":1,"t":"tok tok-L \\u0074"}\n\n');
    // The stream stays open: the event is handed on as soon as it is complete.
    const stop = new AbortController();
    const seen: string[] = [];
    await pipe(['data: {}\n\n'], stop.signal, (data) => {
      seen.push(data);
      stop.abort();
    });
    expect(seen).toEqual(['{}']);
  });

  it('redacts an unterminated last event and multi-line data', async () => {
    expect(await pipe(['data: tok-LEAK-CAN', 'ARY-1234'])).toBe(`data: ${REDACTED}\n\n`);
    expect(await pipe([`data: a\ndata: ${SECRET}\n\n`])).toBe(`data: a\ndata: ${REDACTED}\n\n`);
  });
});
