import type { StoredEvent } from '../core/bus/bus.ts';
import type { Logger } from '../core/logger.ts';
import { encodeComment, encodeRetry } from '../core/fanout/sse.ts';
import { type Relay, createRelay, relayTimings } from '../core/relay.ts';
import type { FrameStyle, UpstreamProfile } from '../core/profile.ts';
import { answerUnexpected, errorAnswer, errorResponse } from '../http/error-response.ts';
import { multiplexedResponse } from '../http/multiplex-response.ts';
import { type StreamCut, subscriptionResponse } from '../http/subscription-response.ts';
import type { WorkerConfig } from './config.ts';
import { type DurableBus, type JobRecord, createDurableBus } from './do-bus.ts';
import { jobStatsFields } from './job-stats.ts';
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

/** The uniform path's MAX_STREAM_MS cut: a comment and `retry:`, then the client resumes. */
export function uniformStreamCut(config: WorkerConfig): StreamCut {
  return { afterMs: config.MAX_STREAM_MS, tail: streamLimitTail(config.RETRY_MS) };
}

/**
 * A job object's SSE Response for one subscriber of `relay`'s job from `since` on (or 204 when it has
 * it all), as on Node, ended by `cut`; errors as JSON. Shared by profiles' and publishers' jobs.
 */
export async function objectSubscription(
  recipe: Pick<WorkerRecipe, 'config' | 'logger' | 'redact'>,
  relay: Pick<Relay, 'subscribe' | 'counts'>,
  jobId: string,
  since: number,
  frames: { cut: StreamCut; style?: FrameStyle | undefined; multiplexedAs?: string },
): Promise<Response> {
  const { config, logger, redact } = recipe;
  const stream = { retryMs: config.RETRY_MS, maxQueuedBytes: MAX_QUEUED_BYTES, maxReplay: config.MAX_REPLAY_EVENTS, cut: frames.cut };
  const onClose = () => logger.debug({ jobId, subscribers: relay.counts().subscribers }, 'subscriber left');
  try {
    // `multiplexedAs`: the job alone as a multiplexed stream (its frames name `<profile>/<id>`), which the front merges.
    if (frames.multiplexedAs !== undefined) {
      const job = { profile: frames.multiplexedAs, jobId };
      const cut = { afterMs: frames.cut.afterMs, tail: frames.cut.tail ?? [] };
      return await multiplexedResponse([{ job, since }], (_job, after) => relay.subscribe(jobId, after), { ...stream, cut, onClose });
    }
    return subscriptionResponse(await relay.subscribe(jobId, since), since, {
      ...stream,
      onClose,
      ...(frames.style ? { style: frames.style } : {}),
    });
  } catch (err) {
    return errorResponse(errorAnswer(err) ?? answerUnexpected(err, { logger, redact }, { jobId }, 'subscription failed'));
  }
}

/** One job's relay, for the job's profile, on the object's storage (jobs stored as `<profile>:<jobid>`). */
export function createJobRuntime(
  ctx: DurableObjectState,
  recipe: WorkerRecipe,
  profile: UpstreamProfile,
  onAppend: (event: StoredEvent, record: JobRecord) => void,
): JobRuntime {
  const { config, redact, logger } = recipe;
  /** The job's counters in Workers Logs (its metrics here): at its end, and when the object lets it go. */
  const logStats = (job: string | undefined, when: string) =>
    logger.info({ job, profile: profile.name, when, ...jobStatsFields(relay.stats) }, 'job stats');
  const bus = createDurableBus(ctx.storage, {
    historyMaxEvents: config.HISTORY_MAX_EVENTS,
    historyTtlMs: config.HISTORY_TTL_S * 1000,
    onAppend(event, record) {
      // After the hub wrote the terminal event to every subscriber (listeners run first).
      if (event.terminal) logStats(record.jobId, 'terminal');
      onAppend(event, record);
    },
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
  // MAX_STREAM_MS: the uniform path's EventSource reconnects after the tail; a drop-in SDK is never closed cleanly.
  const uniformCut = uniformStreamCut(config);
  const dropInCut = { afterMs: config.MAX_STREAM_MS };

  return {
    config,
    logger,
    bus,
    relay,
    subscribe: (jobId, since, dropIn) =>
      objectSubscription(recipe, relay, jobId, since, dropIn ? { cut: dropInCut, style: profile.dropInFrames } : { cut: uniformCut }),
    subscribeMultiplexed: (jobId, since) =>
      objectSubscription(recipe, relay, jobId, since, { cut: uniformCut, multiplexedAs: profile.name }),
    async close() {
      logStats(bus.record()?.jobId, 'unloaded');
      await relay.close();
      await bus.close();
    },
  };
}
