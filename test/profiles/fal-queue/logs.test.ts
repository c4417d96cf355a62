import { describe, expect, it } from 'vitest';
import type { JobEvent } from '../../../src/core/ingest/event.ts';
import type { StreamResult, UpstreamClient } from '../../../src/core/ingest/upstream.ts';
import { vendorTable } from '../../support/vendor-table.ts';
import { falQueue, parseFalStatus } from '../../../src/profiles/fal-queue/profile.ts';
import { memoryRelay } from '../../support/memory-relay.ts';
import { until } from '../../support/until.ts';

// fal's log lines through the real profile and the core follower, against a vendor stand-in whose
// status stream ends early and is then refused, so the follower reads it, then polls.

const JOB = 'fal-ai:flux:r1';
const PATH = '/fal-ai/flux/requests/r1';
const line = (n: number) => ({ message: `step ${n}/4`, level: 'INFO', source: 'USER', timestamp: `2026-12-01T10:00:0${n}.000Z` });
const lines = (...ns: number[]) => ns.map(line);
const sse = (...events: object[]) =>
  new Response(events.map((e) => `data: ${JSON.stringify({ request_id: 'r1', ...e })}\n\n`).join('')).body as ReadableStream<Uint8Array>;
const reply = (status: number, body: unknown): StreamResult => ({ kind: 'reply', reply: { status, body } });
const falRelay = (upstream: UpstreamClient) => memoryRelay(falQueue, upstream, { pollIntervalMs: 10 });

const logsOf = (data: string) => ((JSON.parse(data) as { logs?: { message: string }[] }).logs ?? []).map((each) => each.message);

describe('fal log lines: each event carries its new ones, the stored status all of them', () => {
  it('streamed, then polled (whose answers repeat every line so far): no line twice in the history, every line in the snapshot', async () => {
    let streams = 0;
    const polls = [
      { status: 'IN_PROGRESS', logs: lines(1, 2, 3) },
      { status: 'IN_PROGRESS', logs: lines(1, 2, 3) },
      { status: 'IN_PROGRESS', logs: lines(1, 2, 3, 4) },
      { status: 'COMPLETED', logs: lines(1, 2, 3, 4), metrics: {} },
    ];
    const { client: upstream } = vendorTable({
      'POST /fal-ai/flux/dev': () => reply(200, { request_id: 'r1', status: 'IN_QUEUE' }),
      // The first stream ends after two lines; a reopened one is refused, so the follower polls.
      [`GET ${PATH}/status/stream?logs=1`]: () =>
        ++streams === 1
          ? {
              kind: 'stream',
              body: sse(
                { status: 'IN_QUEUE', queue_position: 0 },
                { status: 'IN_PROGRESS', logs: lines(1) },
                { status: 'IN_PROGRESS', logs: lines(2) },
              ),
            }
          : reply(503, { detail: 'busy' }),
      [`GET ${PATH}/status?logs=1`]: () => reply(202, polls.length > 1 ? polls.shift() : polls[0]),
      [`GET ${PATH}`]: () => reply(200, { images: [{ url: 'https://v3.fal.media/a.png' }] }),
    });
    const relay = falRelay(upstream);
    try {
      expect(await relay.create('fal-ai/flux/dev', { prompt: 'x' })).toMatchObject({ kind: 'job', jobId: JOB });
      await until(async () => (await relay.stored.state(JOB))?.terminalSeq != null, { timeoutMs: 10_000, intervalMs: 10 }).catch(
        () => undefined,
      );
      const history = await relay.stored.history(JOB, -1);
      expect(history.map((event) => [JSON.parse(event.data).status, logsOf(event.data)])).toEqual([
        ['IN_QUEUE', []],
        ['IN_PROGRESS', ['step 1/4']],
        ['IN_PROGRESS', ['step 2/4']],
        ['IN_PROGRESS', ['step 3/4']],
        ['IN_PROGRESS', ['step 4/4']],
        ['COMPLETED', []],
      ]);
      const snapshot = await relay.snapshot(JOB);
      expect(snapshot).toMatchObject({ status: 'COMPLETED', result: { status: 200 } });
      expect(snapshot?.logs).toEqual(lines(1, 2, 3, 4));
      expect(history.at(-1)?.data).toContain('"result"');
    } finally {
      await relay.close();
    }
  });

  it('lines read while an append is still in flight reach the stored status too (the next event is compared with the last one read)', async () => {
    // Every append waits until the stream's terminal status was read: the three before it queue up behind the first.
    let terminalRead!: () => void;
    const held = new Promise<void>((resolve) => void (terminalRead = resolve));
    const watched = {
      ...falQueue,
      toEvent(message: Parameters<typeof falQueue.toEvent>[0], seq: number) {
        const event = falQueue.toEvent(message, seq);
        if (typeof event !== 'string' && event.terminal) terminalRead();
        return event;
      },
    };
    const { client: upstream } = vendorTable({
      'POST /fal-ai/flux/dev': () => reply(200, { request_id: 'r1', status: 'IN_QUEUE' }),
      [`GET ${PATH}/status/stream?logs=1`]: () => ({
        kind: 'stream',
        body: sse(
          { status: 'IN_QUEUE', queue_position: 0 },
          { status: 'IN_PROGRESS', logs: lines(1) },
          { status: 'IN_PROGRESS', logs: lines(2) },
          { status: 'COMPLETED', logs: [], metrics: {} },
        ),
      }),
      [`GET ${PATH}`]: () => reply(200, { images: [{ url: 'https://v3.fal.media/a.png' }] }),
    });
    const relay = memoryRelay(watched, upstream, {
      pollIntervalMs: 10,
      wrapBus: (bus) => ({
        ...bus,
        append: async (jobId, event) => {
          await held;
          return bus.append(jobId, event);
        },
        appendMany: async (jobId, events) => {
          await held;
          return Promise.all(events.map((event) => bus.append(jobId, event)));
        },
      }),
    });
    try {
      expect(await relay.create('fal-ai/flux/dev', { prompt: 'x' })).toMatchObject({ kind: 'job', jobId: JOB });
      await until(async () => (await relay.stored.state(JOB))?.terminalSeq != null, { timeoutMs: 10_000, intervalMs: 10 });
      const history = await relay.stored.history(JOB, -1);
      expect(history.map((event) => [JSON.parse(event.data).status, logsOf(event.data)])).toEqual([
        ['IN_QUEUE', []],
        ['IN_PROGRESS', ['step 1/4']],
        ['IN_PROGRESS', ['step 2/4']],
        ['COMPLETED', []],
      ]);
      expect((await relay.snapshot(JOB))?.logs).toEqual(lines(1, 2));
    } finally {
      await relay.close();
    }
  });

  it('a job ended past its deadline from outside its follow (a Durable Object alarm) is COMPLETED for polls, its lines kept', async () => {
    const relay = falRelay(vendorTable({}).client);
    try {
      // Two statuses as a follow stored them: the snapshot gathers their lines.
      let last: Record<string, unknown> | undefined;
      for (const seq of [0, 1]) {
        const status = parseFalStatus(JSON.stringify({ status: 'IN_PROGRESS', logs: lines(seq + 1) }), seq) as JobEvent;
        const event = falQueue.unseenPart(status, last)!;
        await relay.stored.append(JOB, { seq, data: event.data, terminal: false, snapshot: event.snapshot ?? event.data });
        last = event.job;
      }
      await relay.endPastDeadline(JOB);
      const snapshot = await relay.snapshot(JOB);
      expect(snapshot).toMatchObject({ status: 'COMPLETED', error_type: 'relay_gave_up' });
      expect(snapshot?.logs).toEqual(lines(1, 2));
      expect(logsOf((await relay.stored.history(JOB, 1))[0]!.data)).toEqual([]);
    } finally {
      await relay.close();
    }
  });
});
