import type { JobState } from '../bus/bus.ts';
import { pause } from '../clock.ts';
import { RelayError, errorMessage } from '../errors.ts';
import { appendReliably } from './append.ts';
import { complete } from './complete.ts';
import type { FollowContext } from './context.ts';
import type { EnsureResult } from './followers.ts';
import { parseSnapshot } from './poll.ts';

/** Takes over jobs nobody follows (the watchdog's and a first subscriber's check): `ensure` makes sure some instance follows one. */
export function createTakeover(context: FollowContext) {
  const { options } = context;
  const { bus, profile, upstream, logger } = options;
  /** Jobs the bus held nothing of whose takeover waits for a live owner to show up first. */
  const waiting = new Set<string>();

  /** The job's status upstream now, or 'gone' when the vendor no longer knows it; throws when it cannot tell. */
  async function pollStatus(jobId: string): Promise<Record<string, unknown> | 'gone'> {
    context.deps.stats.upstreamPolls++;
    const reply = await upstream.send(profile.pollRequest(jobId));
    const outcome = profile.pollOutcome(reply);
    if (outcome.kind === 'status') return outcome.job;
    if (outcome.kind === 'gone') return 'gone';
    throw new RelayError('upstream_error', `upstream answered ${reply.status} for the job`);
  }

  /**
   * A job that a bus which can lose data holds nothing of may be one whose data it just lost, while
   * its owner lives on and subscribers hold its seqs: numbering it now (from 0, or from what one hub
   * knows) could give one seq two different events. Unless the job was created after the bus's data
   * began (with a lease of margin for clocks), its owner gets a lease period to take its lease again
   * (it renews every third of one) before this instance takes over, from whatever the bus holds then
   * and only if the lease is still free.
   */
  async function awaitOwner(jobId: string, knownSeq: number, dataSince: () => Promise<number>): Promise<EnsureResult> {
    const status = await pollStatus(jobId);
    if (status === 'gone') return 'unknown';
    if (knownSeq < 0) {
      const created = profile.createdAt(status);
      if (created !== undefined && created >= (await dataSince()) + options.leaseMs) return takeOver(jobId, knownSeq, null, status);
    }
    if (context.follows.has(jobId)) return 'following';
    if (waiting.has(jobId)) return 'awaiting-owner';
    waiting.add(jobId);
    logger.info({ jobId }, 'the bus holds nothing of the job; waiting for a live owner before taking over');
    void pause(context.clock, options.leaseMs, context.closing)
      .then(async () => {
        if (!context.closing.aborted) await takeOver(jobId, knownSeq, await bus.state(jobId));
      })
      .catch((err: unknown) => logger.warn({ jobId, err: errorMessage(err) }, 'taking over the job failed'))
      .finally(() => waiting.delete(jobId));
    return 'awaiting-owner';
  }

  /**
   * Takes the lease of a job nobody follows and follows it by polling, numbering on above `state` and
   * `knownSeq`; `polled`: the job's status just read upstream, when the bus holds nothing of it.
   */
  async function takeOver(
    jobId: string,
    knownSeq: number,
    state: JobState | null,
    polled?: Record<string, unknown>,
  ): Promise<EnsureResult> {
    if (state?.terminalSeq !== null && state?.terminalSeq !== undefined) return 'over';
    if (!(await bus.acquireLease(jobId, options.owner, options.leaseMs))) return 'followed-elsewhere';
    if (context.follows.has(jobId)) return 'following';
    const follow = context.begin(jobId, 'poll');
    // `knownSeq`: what a local hub already holds. Above what the bus has, the bus lost events
    // (Redis restarted empty): numbering goes on above it, and the lost ones show as a gap.
    if (state || knownSeq >= 0) follow.lastSeq = Math.max(state?.lastSeq ?? -1, knownSeq);
    if (state) {
      const job = parseSnapshot(profile, state.snapshot);
      if (job) {
        follow.knowJob(job);
        follow.startedAt(profile.createdAt(job), options.jobDeadlineMs);
      }
      logger.info({ jobId, lastSeq: state.lastSeq }, 'taking over an unfollowed job; polling');
      void context.finish(follow, complete(context, follow));
      return 'following';
    }
    let job: Record<string, unknown> | 'gone';
    try {
      job = polled ?? (await pollStatus(jobId));
    } catch (err) {
      void context.finish(follow, Promise.resolve());
      throw err;
    }
    if (job === 'gone') {
      void context.finish(follow, Promise.resolve());
      return 'unknown';
    }
    const status = job;
    follow.startedAt(profile.createdAt(status), options.jobDeadlineMs);
    logger.info({ jobId }, 'following a job created elsewhere; polling');
    void context.finish(
      follow,
      (async () => {
        const first = context.latest(profile.statusEvent(follow.lastSeq + 1, status, new Date(context.now())), undefined);
        await appendReliably(context.deps, follow, first);
        await complete(context, follow);
      })(),
    );
    return 'following';
  }

  return {
    /**
     * Makes sure some instance follows the job, taking the lease and polling if none does.
     * `knownSeq` is the newest seq a local hub holds (it may be ahead of a bus that lost its data).
     */
    async ensure(jobId: string, knownSeq = -1): Promise<EnsureResult> {
      if (context.follows.has(jobId)) return 'following';
      if (waiting.has(jobId)) return 'awaiting-owner';
      const state = await bus.state(jobId);
      if (state === null && bus.dataSince) return awaitOwner(jobId, knownSeq, bus.dataSince);
      return takeOver(jobId, knownSeq, state);
    },
  };
}
