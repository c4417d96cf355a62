import { describe, expect, it } from 'vitest';
import { createRedactor, redactStream } from '../../src/core/redact.ts';

const SECRET = 'tok-LEAK-CANARY-1234';

async function pipe(chunks: string[]): Promise<string> {
  const encoder = new TextEncoder();
  const source = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
  return new Response(redactStream(source, [SECRET])).text();
}

describe('createRedactor', () => {
  it('removes the secret, its base64 and URL-encoded forms', () => {
    const redact = createRedactor([SECRET, undefined, 'ab']);
    const base64 = Buffer.from(SECRET).toString('base64');
    const text = redact(`a ${SECRET} b ${base64} c ${encodeURIComponent(`${SECRET}/`)} d ab`);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(base64.replace(/=+$/, ''));
    expect(text).toContain('ab');
  });
});

describe('redactStream', () => {
  const text = `data: {"event":"error","error":"Authorization: Bearer ${SECRET}","seq":3}\n\ndata: {"seq":4,"x":"é ${SECRET}"}\n\n`;

  it('redacts a secret split across chunks at every position', async () => {
    for (let i = 1; i < text.length; i++) {
      for (const j of [i + 1, i + 7, i + 23]) {
        const out = await pipe([text.slice(0, i), text.slice(i, j), text.slice(j)]);
        expect(out).not.toContain('LEAK');
        expect(out).toBe(text.split(SECRET).join('[redacted]'));
      }
    }
  });

  it('passes text without secrets through unchanged and never holds a finished frame', async () => {
    const plain = 'data: {"seq":1,"t":"tok tok-L"}\n\n';
    expect(await pipe([plain])).toBe(plain);
    const reader = redactStream(new ReadableStream({ start: (c) => c.enqueue(new TextEncoder().encode('data: {}\n\n')) }), [
      SECRET,
    ]).getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('data: {}\n\n');
  });

  it('does not let a long piece of a secret out when the stream ends inside it', async () => {
    expect(await pipe(['data: tok-LEAK-CAN'])).toBe('data: [redacted]');
  });
});
