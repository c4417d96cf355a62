import type { StoredEvent } from '../core/bus.ts';
import type { Logger } from '../core/logger.ts';
import { createRedactor } from '../core/redact.ts';
import { type Relay, createRelay } from '../core/relay.ts';
import { encodeComment, encodeRetry } from '../core/sse.ts';
import { createUpstreamClient } from '../core/upstream.ts';
import { createApp } from '../http/app.ts';
import type { WorkerConfig } from './config.ts';
import { type DurableBus, type JobRecord, createDurableBus } from './do-bus.ts';
import { createConsoleLogger } from './logger.ts';
import { capStream } from './stream-cap.ts';

/** The core relay assembled inside one job's Durable Object, on that object's storage. */
export interface JobRuntime {
  config: WorkerConfig;
  logger: Logger;
  bus: DurableBus;
  relay: Relay;
  /** The shared Hono app (`createApp`), its SSE bodies capped at MAX_STREAM_MS. */
  fetch(request: Request): Promise<Response>;
  close(): Promise<void>;
}

/** A slow subscriber is dropped past this backlog; it reconnects and resumes. */
const MAX_QUEUED_BYTES = 1 << 20;

export function createJobRuntime(ctx: DurableObjectState, config: WorkerConfig, onAppend: (event: StoredEvent, record: JobRecord) => void): JobRuntime {
  const redact = createRedactor([config.UPSTREAM_TOKEN]);
  const logger = createConsoleLogger(config.LOG_LEVEL, redact);
  const bus = createDurableBus(ctx.storage, {
    historyMaxEvents: config.HISTORY_MAX_EVENTS,
    historyTtlMs: config.HISTORY_TTL_S * 1000,
    onAppend,
  });
  const relay = createRelay({
    bus,
    upstream: createUpstreamClient({ baseUrl: config.UPSTREAM_URL, token: config.UPSTREAM_TOKEN }, redact),
    logger,
    instanceId: ctx.id.toString(),
    historyMaxEvents: config.HISTORY_MAX_EVENTS,
    heartbeatMs: config.HEARTBEAT_MS,
    leaseMs: config.LEASE_MS,
    pollIntervalMs: config.POLL_INTERVAL_MS,
    jobDeadlineMs: config.JOB_DEADLINE_MS,
  });
  const app = createApp({ relay, logger, redact, retryMs: config.RETRY_MS, maxBodyBytes: config.MAX_BODY_BYTES, maxQueuedBytes: MAX_QUEUED_BYTES });
  const tail = [encodeComment('stream time limit reached, reconnect to resume'), encodeRetry(config.RETRY_MS)];

  return {
    config,
    logger,
    bus,
    relay,
    async fetch(request) {
      const response = await app.fetch(request);
      if (!response.body || !(response.headers.get('content-type') ?? '').startsWith('text/event-stream')) return response;
      return new Response(capStream(response.body, config.MAX_STREAM_MS, tail), response);
    },
    async close() {
      await relay.close();
      await bus.close();
    },
  };
}
