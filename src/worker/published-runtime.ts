import type { StoredEvent } from '../core/bus/bus.ts';
import { RelayError, errorMessage } from '../core/errors.ts';
import type { PublishedEvent } from '../core/publish/event.ts';
import { type PublishResult, type PublishedRelay, createPublishedRelay } from '../core/publish/relay.ts';
import { type DurableBus, type JobRecord, createDurableBus } from './do-bus.ts';
import { objectSubscription, uniformStreamCut } from './job-runtime.ts';
import type { WorkerRecipe } from './recipe.ts';

/** A publish as a job object answers it over RPC: what it stored, or the error's code and message (RPC keeps no error class). */
export type PublishReply = { kind: 'published'; result: PublishResult } | { kind: 'failed'; code: RelayError['code']; message: string };

/** A publisher namespace's relay inside one job's Durable Object, on that object's storage. */
export interface PublishedRuntime {
  /** What the object's alarms need of its bus: the job's record. */
  bus: Pick<DurableBus, 'record'>;
  relay: PublishedRelay;
  publish(jobId: string, events: readonly PublishedEvent[]): Promise<PublishReply>;
  /** The job's SSE from `since` on (or 204), as on Node, cut at MAX_STREAM_MS with `retry:`; `mux`: as one job of a multiplexed stream. */
  subscribe(jobId: string, since: number, mux?: boolean): Promise<Response>;
  close(): Promise<void>;
}

/** One published job's relay, for its namespace, on the object's storage (stored as `<namespace>:<jobid>`). */
export function createPublishedRuntime(
  ctx: DurableObjectState,
  recipe: WorkerRecipe,
  namespace: string,
  onAppend: (event: StoredEvent, record: JobRecord) => void,
): PublishedRuntime {
  const { config, redact, logger } = recipe;
  const bus = createDurableBus(ctx.storage, {
    historyMaxEvents: config.HISTORY_MAX_EVENTS,
    historyTtlMs: config.HISTORY_TTL_S * 1000,
    onAppend,
  });
  const relay = createPublishedRelay({
    bus,
    namespace,
    redact,
    logger,
    historyMaxEvents: config.HISTORY_MAX_EVENTS,
    heartbeatMs: config.HEARTBEAT_MS,
    leaseMs: config.LEASE_MS,
    jobDeadlineMs: config.JOB_DEADLINE_MS,
    unknownJobWaitMs: Math.max(2000, config.POLL_INTERVAL_MS * 2),
  });
  const cut = uniformStreamCut(config);
  return {
    bus,
    relay,
    async publish(jobId, events) {
      try {
        return { kind: 'published', result: await relay.publish(jobId, events) };
      } catch (err) {
        if (err instanceof RelayError) return { kind: 'failed', code: err.code, message: err.message };
        logger.error({ namespace, jobId, err: redact(errorMessage(err)) }, 'publish failed');
        return { kind: 'failed', code: 'internal', message: 'internal error' };
      }
    },
    subscribe: (jobId, since, mux = false) =>
      objectSubscription(recipe, relay, jobId, since, mux ? { cut, multiplexedAs: namespace } : { cut }),
    async close() {
      await relay.close();
      await bus.close();
    },
  };
}
