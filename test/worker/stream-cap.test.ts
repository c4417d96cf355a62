import { describe, expect, it } from 'vitest';
import { capStream } from '../../src/worker/stream-cap.ts';

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (chunks: Uint8Array[]) => chunks.map((c) => new TextDecoder().decode(c)).join('');

function source() {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const cancelled: unknown[] = [];
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
    cancel(reason) {
      cancelled.push(reason);
    },
  });
  return { stream, controller, cancelled };
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

describe('capStream', () => {
  it('passes a stream that ends in time through unchanged, without the tail', async () => {
    const src = source();
    const capped = capStream(src.stream, 1000, [bytes('retry: 1\n\n')]);
    src.controller.enqueue(bytes('id: 0\ndata: a\n\n'));
    src.controller.enqueue(bytes('id: 1\ndata: b\n\n'));
    src.controller.close();
    expect(text(await readAll(capped))).toBe('id: 0\ndata: a\n\nid: 1\ndata: b\n\n');
    expect(src.cancelled).toEqual([]);
  });

  it('ends a stream still open after maxMs with the tail frames and cancels the source', async () => {
    const src = source();
    const capped = capStream(src.stream, 50, [bytes(': limit\n\n'), bytes('retry: 7\n\n')]);
    src.controller.enqueue(bytes('id: 0\ndata: a\n\n'));
    expect(text(await readAll(capped))).toBe('id: 0\ndata: a\n\n: limit\n\nretry: 7\n\n');
    expect(src.cancelled).toHaveLength(1);
  });

  it('passes a cancel by the reader on to the source', async () => {
    const src = source();
    const capped = capStream(src.stream, 10_000, []);
    await capped.cancel('client gone');
    expect(src.cancelled).toEqual(['client gone']);
  });
});
