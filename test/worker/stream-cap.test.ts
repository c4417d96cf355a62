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
    const capped = capStream(src.stream, 1000, { tail: [bytes('retry: 1\n\n')] });
    src.controller.enqueue(bytes('id: 0\ndata: a\n\n'));
    src.controller.enqueue(bytes('id: 1\ndata: b\n\n'));
    src.controller.close();
    expect(text(await readAll(capped))).toBe('id: 0\ndata: a\n\nid: 1\ndata: b\n\n');
    expect(src.cancelled).toEqual([]);
  });

  it('ends a stream still open after maxMs with the tail frames and cancels the source', async () => {
    const src = source();
    const capped = capStream(src.stream, 50, { tail: [bytes(': limit\n\n'), bytes('retry: 7\n\n')] });
    src.controller.enqueue(bytes('id: 0\ndata: a\n\n'));
    expect(text(await readAll(capped))).toBe('id: 0\ndata: a\n\n: limit\n\nretry: 7\n\n');
    expect(src.cancelled).toHaveLength(1);
  });

  it('passes a cancel by the reader on to the source', async () => {
    const src = source();
    const capped = capStream(src.stream, 10_000);
    await capped.cancel('client gone');
    expect(src.cancelled).toEqual(['client gone']);
  });

  it('without a tail (a drop-in stream) never closes cleanly early: the cut errors it, and so does a failing source', async () => {
    const cut = source();
    const capped = capStream(cut.stream, 50);
    cut.controller.enqueue(bytes('id: 0\ndata: a\n\n'));
    await expect(readAll(capped)).rejects.toThrow(/stream time limit/);
    expect(cut.cancelled).toHaveLength(1);
    const broken = source();
    const ended: number[] = [];
    const fromBroken = capStream(broken.stream, 10_000, { onEnd: () => void ended.push(1) });
    broken.controller.error(new Error('lost'));
    await expect(readAll(fromBroken)).rejects.toThrow();
    expect(ended).toEqual([1]);
  });

  it('with a tail, a failing source ends with the tail (the client reconnects)', async () => {
    const broken = source();
    const capped = capStream(broken.stream, 10_000, { tail: [bytes('retry: 7\n\n')] });
    broken.controller.enqueue(bytes('id: 0\ndata: a\n\n'));
    const reader = capped.getReader();
    const first = await reader.read();
    broken.controller.error(new Error('lost'));
    const rest: Uint8Array[] = [];
    for (let next = await reader.read(); !next.done; next = await reader.read()) rest.push(next.value);
    expect(text([first.value as Uint8Array, ...rest])).toBe('id: 0\ndata: a\n\nretry: 7\n\n');
  });
});
