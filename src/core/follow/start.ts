import type { UpstreamReply } from '../profile.ts';
import { appendReliably } from './append.ts';
import { complete } from './complete.ts';
import type { FollowContext } from './context.ts';
import type { Follow } from './follow.ts';
import { streamPhase } from './stream.ts';

/** The stream's holder follows the job, whoever held its lease. */
function claim(context: FollowContext, jobId: string): void {
  const { bus, owner, leaseMs } = context.options;
  bus.claimLease(jobId, owner, leaseMs).catch(() => undefined);
}

/**
 * Takes over a job's upstream stream as its creator; resolves with the job id once the first
 * events are on the bus, and keeps reading (then resuming or polling) until the job is over.
 */
export function followStream(context: FollowContext, body: ReadableStream<Uint8Array>): Promise<string> {
  context.deps.stats.upstreamStreams++;
  return new Promise<string>((resolve, reject) => {
    let named: Follow | undefined;
    const run = (async () => {
      const follow = await streamPhase(body, {
        ...context.readOptions,
        begin: (jobId) => {
          named = context.begin(jobId, 'stream');
          claim(context, jobId);
          return named;
        },
        onNamed: (follow) => resolve(follow.jobId),
      });
      await complete(context, follow);
    })();
    // Before the job is named the create fails with the error; after, it is logged and the follow dropped.
    run.catch(reject);
    void run
      .catch(() => undefined)
      .finally(() => {
        if (named) void context.finish(named, run);
      });
  });
}

/**
 * Follows a job its create named: stores the create's answer first where the profile keeps it
 * (profile.startedEvent), opens its stream (profile.streamRequest), then resumes or polls as for any job.
 */
export function followStarted(context: FollowContext, jobId: string, reply?: UpstreamReply): string {
  if (context.follows.has(jobId)) return jobId;
  const follow = context.begin(jobId, 'stream');
  claim(context, jobId);
  const first = reply ? context.options.profile.startedEvent?.(reply) : undefined;
  const work = async () => {
    if (first) await appendReliably(context.deps, follow, first);
    await complete(context, follow);
  };
  void context.finish(follow, work());
  return jobId;
}
