import { describe, expect, it } from 'vitest';
import type { JobEvent } from '../../../src/core/ingest/event.ts';
import { type ReadEventsOptions, readEvents } from '../../../src/core/ingest/upstream-stream.ts';
import { RelayError } from '../../../src/core/errors.ts';
import { midjourneyV3 } from '../../../src/profiles/midjourney-v3/profile.ts';
import { manualClock } from '../../support/clock.ts';

function streamOf(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
}

/** Splits bytes into pieces of `size`, so boundaries land inside lines and characters. */
function split(bytes: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.slice(i, i + size));
  return out;
}

async function read(chunks: Uint8Array[], extra: Partial<ReadEventsOptions> = {}) {
  const events: JobEvent[] = [];
  const malformed: string[] = [];
  await readEvents(streamOf(chunks), {
    redact: (text) => text,
    toEvent: midjourneyV3.toEvent,
    nextSeq: () => 0,
    onEvent: (e) => void events.push(e),
    onMalformed: (r) => void malformed.push(r),
    ...extra,
  });
  return { events, malformed };
}

const enc = new TextEncoder();
const e0 = '{"event":"initialized","message":"Stream initialized","jobId":"j:1","seq":0,"ts":"00:00:00.000"}';
const e1 = '{"event":"midjourney_progress","job":{"jobid":"j:1","prompt":"猫 🐱"},"seq":1,"ts":"00:00:00.001"}';

describe('readEvents', () => {
  it('reads events split at every possible byte, including inside a UTF-8 character', async () => {
    const bytes = enc.encode(`data: ${e0}\n\ndata: ${e1}\n\n`);
    for (const size of [1, 2, 3, 5, 7, 64]) {
      const { events } = await read(split(bytes, size));
      expect(events.map((e) => e.data)).toEqual([e0, e1]);
    }
  });

  it('handles CRLF and CR line endings, a BOM, comments, event/id/retry fields', async () => {
    const bytes = enc.encode(`\uFEFF: hello\r\nevent: foo\r\nid: 9\r\ndata: ${e0}\r\n\r\nretry: 10\rdata: ${e1}\r\r`);
    const { events } = await read(split(bytes, 4));
    expect(events.map((e) => e.seq)).toEqual([0, 1]);
  });

  it('skips and reports malformed payloads without stopping', async () => {
    const bytes = enc.encode(`data: not json\n\ndata: {"event":"x"}\n\ndata: ${e0}\n\ndata: [1]\n\ndata: ${e1}\n\n`);
    const { events, malformed } = await read([bytes]);
    expect(events.map((e) => e.seq)).toEqual([0, 1]);
    expect(malformed).toEqual(['not JSON', 'missing or invalid seq', 'not a JSON object']);
  });

  it('joins multi-line data before parsing', async () => {
    const bytes = enc.encode('data: {"event":"x",\ndata: "seq":3}\n\n');
    const { events } = await read([bytes]);
    expect(events).toHaveLength(1);
    expect(events[0]?.data).toBe('{"event":"x",\n"seq":3}');
  });

  it('takes a last event that lacks its blank line at end of stream', async () => {
    const { events } = await read([enc.encode(`data: ${e0}\n`)]);
    expect(events.map((e) => e.seq)).toEqual([0]);
  });

  it('drops an event larger than the buffer limit, counts it malformed, and ends the read (never buffers it whole)', async () => {
    const big = `data: {"event":"x","seq":1,"pad":"${'a'.repeat(5000)}"}\n\n`;
    const events: JobEvent[] = [];
    const malformed: string[] = [];
    // An endless oversized event, split in small chunks: reading stops once the limit is passed.
    let pulled = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++;
        controller.enqueue(enc.encode(pulled === 1 ? `data: ${e0}\n\ndata: {"pad":"` : 'a'.repeat(100)));
      },
    });
    const reading = readEvents(endless, {
      redact: (text) => text,
      toEvent: midjourneyV3.toEvent,
      nextSeq: () => 0,
      maxEventChars: 1000,
      onEvent: (e) => void events.push(e),
      onMalformed: (r) => void malformed.push(r),
    });
    await expect(reading).rejects.toBeInstanceOf(RelayError);
    expect(events.map((e) => e.seq)).toEqual([0]);
    expect(malformed).toEqual(['event larger than 1000 characters']);
    expect(pulled).toBeLessThan(100);
    // Below the limit the same event passes.
    const { events: fine } = await read([enc.encode(big)], { maxEventChars: 10_000 });
    expect(fine.map((e) => e.seq)).toEqual([1]);
  });

  it('treats bytes without a complete event (a comment) as life, and a silent stream as idle', async () => {
    // On a clock only the test moves: 14 comments 100 ms apart (1.4 s in all) never let the 150 ms limit pass.
    const clock = manualClock();
    let feed!: ReadableStreamDefaultController<Uint8Array>;
    const chatty = new ReadableStream<Uint8Array>({ start: (controller) => void (feed = controller) });
    const seen: JobEvent[] = [];
    let outcome: 'pending' | 'done' | 'failed' = 'pending';
    const reading = readEvents(chatty, {
      redact: (t) => t,
      toEvent: midjourneyV3.toEvent,
      nextSeq: () => 0,
      idleMs: 150,
      clock,
      onEvent: (e) => void seen.push(e),
    }).then(
      () => void (outcome = 'done'),
      () => void (outcome = 'failed'),
    );
    for (let i = 0; i < 14; i++) {
      feed.enqueue(enc.encode(': ping\n'));
      await clock.advance(100);
      expect(outcome).toBe('pending');
    }
    feed.enqueue(enc.encode(`data: ${e0}\n\n`));
    feed.close();
    await reading;
    expect(outcome).toBe('done');
    expect(seen.map((e) => e.seq)).toEqual([0]);

    // A stream that sends one comment and then nothing: still reading at 49 ms, abandoned at 50.
    const silent = new ReadableStream<Uint8Array>({ start: (c) => c.enqueue(enc.encode(': hello\n')) });
    let failure: unknown;
    const idle = readEvents(silent, {
      redact: (t) => t,
      toEvent: midjourneyV3.toEvent,
      nextSeq: () => 0,
      idleMs: 50,
      clock,
      onEvent: () => undefined,
    }).catch((err: unknown) => void (failure = err));
    await clock.advance(49);
    expect(failure).toBeUndefined();
    await clock.advance(1);
    await idle;
    expect(failure).toBeInstanceOf(RelayError);
    expect(String(failure)).toMatch(/silent for 50 ms/);
  });
});
