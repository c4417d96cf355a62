import type { JobRef } from '../core/auth/job-ref.ts';
import type { UpstreamProfile } from '../core/profile.ts';
import type { Relay } from '../core/relay.ts';
import { type MuxRequest, multiplexedResponse } from './multiplex-response.ts';
import type { QueuedCreate } from './queued-create.ts';
import { type QueuedStreamOptions, queuedStream } from './queued-stream.ts';
import { type SinkInit, type SinkOpener, subscriptionResponse } from './subscription-response.ts';

/** One subscription as the app opens it; `Ctx` is the runtime's request context (Hono's `c.env`). */
export interface SubscriptionOptions<Ctx> {
  /** Response headers besides the SSE ones: CORS, the request id, the route's own. */
  headers: Record<string, string>;
  /** Frees the caller's subscriber slot: when the subscriber is gone however it went, or at once for a 204 or a failure (safe twice). */
  onClose(): void;
  /** Frames in the profile's drop-in style (profile.dropInFrames) instead of the uniform path's. */
  dropIn?: boolean;
  context: Ctx;
}

/** A streaming create waiting in the create queue, as the app hands it over (see queuedStream). */
export type QueuedOptions<Ctx> = Pick<
  QueuedStreamOptions,
  'heartbeatMs' | 'headers' | 'describe' | 'refusal' | 'vendor' | 'leave' | 'onClose' | 'logger' | 'redact'
> & { context: Ctx };

/**
 * The one port between the app and its runtime: where a job's SSE Response comes from. Node serves
 * it from this process's hubs (straight to the socket); the Worker asks the job's Durable Object.
 */
export interface Subscriptions<Ctx> {
  /** The job's stream after `since` (-1: from the start), a 204 when the client has it all, or a thrown RelayError. */
  open(job: JobRef, since: number, options: SubscriptionOptions<Ctx>): Promise<Response>;
  /**
   * Several jobs on one stream (`GET /v1/stream`, each from its own resume point), a 204 when the
   * client has every one's terminal event, or a thrown RelayError naming the job at fault.
   */
  openMultiplexed(jobs: readonly MuxRequest[], options: Omit<SubscriptionOptions<Ctx>, 'dropIn'>): Promise<Response>;
  /**
   * The SSE stream of a streaming create that waits in the create queue, then its job's events.
   * Only where jobs' hubs are in this process (Node); without it, the create queue is off.
   */
  openQueued?(queued: QueuedCreate, profile: string, options: QueuedOptions<Ctx>): Response;
}

/** What subscriptions use of a relay here: a profile's, or a publisher namespace's (whose frames need no drop-in style). */
export type LocalRelay = Pick<Relay, 'subscribe'> & { profile?: Pick<UpstreamProfile, 'dropInFrames'> };

export interface LocalSubscriptionsOptions<Ctx> {
  /** Every profile's relay, by profile name. */
  relays: ReadonlyMap<string, LocalRelay>;
  retryMs: number;
  /** Most events replayed to one subscriber; older ones are announced by a `gap` frame. */
  maxReplay: number;
  /** Max bytes queued for one slow subscriber before it is dropped (default 8 MiB). */
  maxQueuedBytes?: number;
  /** The runtime's fast sink for this request (Node: straight to the socket); default: a Web stream body. */
  openSink?(init: SinkInit, context: Ctx): ReturnType<SinkOpener>;
}

/** Subscriptions served by this process's relays, from their hubs. */
export function createLocalSubscriptions<Ctx>(options: LocalSubscriptionsOptions<Ctx>): Required<Subscriptions<Ctx>> {
  const { openSink } = options;
  const streamOptions = { retryMs: options.retryMs, maxQueuedBytes: options.maxQueuedBytes ?? 8 << 20, maxReplay: options.maxReplay };
  const sinkFor = (context: Ctx): { openSink?: SinkOpener } => (openSink ? { openSink: (init) => openSink(init, context) } : {});
  const relayOf = (profile: string) => {
    const relay = options.relays.get(profile);
    if (!relay) throw new TypeError(`no relay for profile ${JSON.stringify(profile)}`);
    return relay;
  };
  return {
    async open(job, since, { headers, onClose, dropIn, context }) {
      const relay = relayOf(job.profile);
      const outcome = await relay.subscribe(job.jobId, since);
      const style = dropIn ? relay.profile?.dropInFrames : undefined;
      // Object.assign, not a spread with keys after it: that gets a hidden class of its own per call (slow, and kept).
      return subscriptionResponse(
        outcome,
        since,
        Object.assign({}, streamOptions, sinkFor(context), { onClose, headers }, style ? { style } : {}),
      );
    },
    openMultiplexed(jobs, { headers, onClose, context }) {
      const subscribe = (job: JobRef, since: number) => relayOf(job.profile).subscribe(job.jobId, since);
      return multiplexedResponse(jobs, subscribe, Object.assign({}, streamOptions, sinkFor(context), { onClose, headers }));
    },
    openQueued(queued, profile, { context, ...rest }) {
      const relay = relayOf(profile);
      return queuedStream(queued, {
        ...streamOptions,
        ...sinkFor(context),
        ...rest,
        subscribe: (jobId, since) => relay.subscribe(jobId, since),
      });
    },
  };
}
