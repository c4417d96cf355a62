import type { StoredEvent } from '../core/bus/bus.ts';
import type { Logger } from '../core/logger.ts';
import { encodeComment, encodeRetry } from '../core/fanout/sse.ts';
import { type Relay, createRelay, relayTimings } from '../core/relay.ts';
import type { UpstreamProfile } from '../core/profile.ts';
import { answerUnexpected, errorAnswer, errorResponse } from '../http/error-response.ts';
import { multiplexedResponse } from '../http/multiplex-response.ts';
import { subscriptionResponse } from '../http/subscription-response.ts';
import type { WorkerConfig } from './config.ts';
import { type DurableBus, type JobRecord, createDurableBus } from './do-bus.ts';
import type { WorkerRecipe } from './recipe.ts';

/** The core relay assembled inside one job's Durable Object, on that object's storage. */
export interface JobRuntime {
  config: WorkerConfig;
  logger: Logger;
  /** What the object's alarms need of its bus: the job's record. */
  bus: Pick<DurableBus, 'record'>;
  relay: Relay;
  /**
   * The job's SSE from `since` on (or 204 when the client has it all), as on Node; errors as JSON.
   * Ended after MAX_STREAM_MS (StreamCut): on the uniform path with a comment and `retry:`, on a
   * drop-in path with the style's early-end event or an abort.
   */
  subscribe(jobId: string, since: number, dropIn: boolean): Promise<Response>;
  /** The job alone as a multiplexed stream (`GET /v1/stream`'s frames), for the front to merge with other jobs'; cut as the uniform path. */
  subscribeMultiplexed(jobId: string, since: number): Promise<Response>;
  close(): Promise<void>;
}

/** A slow subscriber is dropped past this backlog; it reconnects and resumes. */
export const MAX_QUEUED_BYTES = 1 << 20;

/** What ends a uniform stream at MAX_STREAM_MS: the client reconnects and resumes from its Last-Event-ID. */
export function streamLimitTail(retryMs: number): Uint8Array[] {
  return [encodeComment('stream time limit reached, reconnect to resume'), encodeRetry(retryMs)];
}

/** One job's relay, for the job's profile, on the object's storage (jobs stored as `<profile>:<jobid>`). */
export function createJobRuntime(
  ctx: DurableObjectState,
  recipe: WorkerRecipe,
  profile: UpstreamProfile,
  onAppend: (event: StoredEvent, record: JobRecord) => void,
): JobRuntime {
  const { config, redact, logger } = recipe;
  const bus = createDurableBus(ctx.storage, {
    historyMaxEvents: config.HISTORY_MAX_EVENTS,
    historyTtlMs: config.HISTORY_TTL_S * 1000,
    onAppend,
  });
  const relay = createRelay({
    bus,
    profile,
    upstream: recipe.upstream(profile),
    redact,
    logger,
    instanceId: ctx.id.toString(),
    ...relayTimings(config),
  });
  const streamOptions = { retryMs: config.RETRY_MS, maxQueuedBytes: MAX_QUEUED_BYTES, maxReplay: config.MAX_REPLAY_EVENTS };
  // MAX_STREAM_MS: the uniform path's EventSource reconnects after the tail; a drop-in SDK is never closed cleanly.
  const uniformCut = { afterMs: config.MAX_STREAM_MS, tail: streamLimitTail(config.RETRY_MS) };
  const dropInCut = { afterMs: config.MAX_STREAM_MS };
  const onClose = (jobId: string) => logger.debug({ jobId, subscribers: relay.counts().subscribers }, 'subscriber left');
  /** A subscription's stream, or its refusal as a JSON error. */
  const answered = async (jobId: string, open: () => Promise<Response>): Promise<Response> => {
    try {
      return await open();
    } catch (err) {
      return errorResponse(errorAnswer(err) ?? answerUnexpected(err, { logger, redact }, { jobId }, 'subscription failed'));
    }
  };

  return {
    config,
    logger,
    bus,
    relay,
    subscribe(jobId, since, dropIn) {
      const style = dropIn ? profile.dropInFrames : undefined;
      return answered(jobId, async () =>
        subscriptionResponse(await relay.subscribe(jobId, since), since, {
          ...streamOptions,
          onClose: () => onClose(jobId),
          cut: dropIn ? dropInCut : uniformCut,
          ...(style ? { style } : {}),
        }),
      );
    },
    subscribeMultiplexed(jobId, since) {
      const job = { profile: profile.name, jobId };
      const subscribe = (_job: unknown, after: number) => relay.subscribe(jobId, after);
      return answered(jobId, () =>
        multiplexedResponse([{ job, since }], subscribe, { ...streamOptions, onClose: () => onClose(jobId), cut: uniformCut }),
      );
    },
    async close() {
      await relay.close();
      await bus.close();
    },
  };
}
