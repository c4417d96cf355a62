import { describe, expect, it } from 'vitest';
import { type NdjsonLine, ndjsonLines } from '../../src/http/ndjson.ts';

/** Feeds `chunks` (bytes) through the decoder and the line splitter; the line batches read, and the error if the body errs. */
async function read(chunks: Uint8Array<ArrayBuffer>[], { cut = false, maxLineChars = 1000 } = {}) {
  let next = 0;
  const body = new ReadableStream<BufferSource>({
    // One chunk per read, as a socket delivers them; the cut comes after the last was read.
    pull(controller) {
      const chunk = chunks[next++];
      if (chunk) controller.enqueue(chunk);
      else if (cut) controller.error(new Error('connection reset'));
      else controller.close();
    },
  });
  const batches: NdjsonLine[][] = [];
  let error: unknown;
  try {
    for await (const batch of body.pipeThrough(new TextDecoderStream()).pipeThrough(ndjsonLines(maxLineChars))) batches.push(batch);
  } catch (err) {
    error = err;
  }
  return { batches, error };
}

const bytes = (text: string) => new TextEncoder().encode(text);

describe('ndjsonLines', () => {
  it('gives the whole lines each chunk completes, numbered, blank lines skipped, CRLF read as LF', async () => {
    const { batches } = await read([bytes('{"a":1}\r\n\n{"b"'), bytes(':2}\n{"c":3}\n')]);
    expect(batches).toEqual([
      [{ text: '{"a":1}', line: 1 }],
      [
        { text: '{"b":2}', line: 3 },
        { text: '{"c":3}', line: 4 },
      ],
    ]);
  });

  it('keeps a character split across chunks whole', async () => {
    const encoded = bytes('{"x":"é✓"}\n');
    const { batches } = await read([encoded.slice(0, 7), encoded.slice(7, 9), encoded.slice(9)]);
    expect(batches.flat()).toEqual([{ text: '{"x":"é✓"}', line: 1 }]);
  });

  it('never gives a last line without its newline: cut, or ended cleanly (a 400 naming it)', async () => {
    const cut = await read([bytes('{"a":1}\n{"b":2}')], { cut: true });
    expect(cut.batches.flat().map((line) => line.text)).toEqual(['{"a":1}']);
    expect(cut.error).toBeInstanceOf(Error);
    const ended = await read([bytes('{"a":1}\n{"b":2}')]);
    expect(ended.batches.flat().map((line) => line.text)).toEqual(['{"a":1}']);
    expect(ended.error).toMatchObject({
      code: 'bad_request',
      message: 'line 2: no newline at its end (each NDJSON line ends with one); not stored',
    });
    expect((await read([bytes('{"a":1}\n  \n')])).error).toBeUndefined();
  });

  it('refuses a line longer than the cap before it ends (413)', async () => {
    const { batches, error } = await read([bytes('{"a":1}\n'), bytes('x'.repeat(40))], { maxLineChars: 32 });
    expect(batches.flat().map((line) => line.text)).toEqual(['{"a":1}']);
    expect(error).toMatchObject({ code: 'payload_too_large', message: 'line 2: exceeds 32 characters' });
  });
});
