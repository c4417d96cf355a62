import type { UpstreamRequest } from '../profile.ts';
import type { FollowContext } from './context.ts';
import type { Follow } from './follow.ts';
import { streamPhase } from './stream.ts';

/** Resumed streams in a row that bring nothing new before the follower polls instead. */
const MAX_STALLED_RESUMES = 3;

const unnamed = () => {
  throw new Error('a resumed stream belongs to a known job');
};

/**
 * The resume phase, where the vendor allows one (profile.resumeRequest): reopens the stream
 * after the last stored seq and reads on, while resuming makes progress; any answer that is not
 * a stream means "not possible" and the caller polls.
 */
export async function resume(context: FollowContext, follow: Follow): Promise<void> {
  const { profile, upstream, logger } = context.options;
  // A vendor without resume whose stream is reopened (fal's status stream) reopens it instead.
  const { resumeRequest, streamRequest } = profile;
  const request = (): UpstreamRequest | undefined =>
    resumeRequest
      ? resumeRequest(follow.jobId, follow.lastSeq)
      : streamRequest?.(follow.jobId, { lastSeq: follow.lastSeq, ...(follow.lastJob ? { last: follow.lastJob } : {}) });
  let stalled = 0;
  while (!follow.over && !follow.signal.aborted && !context.closing.aborted && stalled < MAX_STALLED_RESUMES) {
    const before = follow.lastSeq;
    // None (a vendor whose stream cannot be reopened without repeating itself): the caller polls.
    const next = request();
    if (!next) return;
    const opened = await upstream.open(next).catch(() => undefined);
    if (opened?.kind !== 'stream') return;
    context.deps.stats.upstreamStreams++;
    // After stored events: a resume (a job its create named opens its first stream here too).
    if (before >= 0) context.deps.stats.upstreamResumes++;
    follow.phase = 'stream';
    logger.info({ jobId: follow.jobId, lastSeq: before }, 'resuming the upstream stream');
    await streamPhase(opened.body, { ...context.readOptions, begin: unnamed, onNamed: () => undefined }, follow);
    stalled = follow.lastSeq > before ? 0 : stalled + 1;
  }
}
