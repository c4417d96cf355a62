import { isRecord } from '../../src/core/ingest/event.ts';
import type { UpstreamProfile } from '../../src/core/profile.ts';
import type { UpstreamClient } from '../../src/core/ingest/upstream.ts';

/**
 * A made-up vendor whose create answers a stream of `{seq, id, status}` events: each carries its
 * job object except `hello`; `done` is terminal (and is what the relay synthesizes when it gives up).
 */
export const acmeProfile: UpstreamProfile = {
  name: 'acme',
  authorization: () => ({}),
  createRequest: () => ({ method: 'POST', path: '/jobs', stream: true }),
  toEvent(message) {
    const parsed: unknown = JSON.parse(message.data);
    if (!isRecord(parsed) || typeof parsed.seq !== 'number') return 'bad';
    const { seq: _seq, ...job } = parsed;
    return {
      seq: parsed.seq,
      type: String(parsed.status),
      data: message.data,
      terminal: parsed.status === 'done',
      jobId: String(parsed.id),
      ...(parsed.status === 'hello' ? {} : { job }),
    };
  },
  pollRequest: (id) => ({ method: 'GET', path: `/jobs/${id}` }),
  pollOutcome: () => ({ kind: 'retry' }),
  statusKey: (job) => String(job.status),
  statusEvent: (seq, job) => ({ seq, type: 'status', data: JSON.stringify({ seq, ...job }), terminal: false, job }),
  createdAt: () => undefined,
  terminalEvent: (seq, reason, _now, { jobId }) => {
    const job = { id: jobId, status: 'done', error: reason };
    return { seq, type: 'done', data: JSON.stringify({ seq, ...job }), terminal: true, job };
  },
};

/** An upstream whose one create stream the test writes to (`emit`); every other call answers 503. */
export function controlledUpstream() {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
  });
  const upstream: UpstreamClient = {
    send: async () => ({ status: 503, body: {} }),
    open: async () => ({ kind: 'stream', body }),
  };
  const encoder = new TextEncoder();
  return {
    upstream,
    emit: (event: object) => controller.enqueue(encoder.encode(`data: ${JSON.stringify(event)}\n\n`)),
  };
}
