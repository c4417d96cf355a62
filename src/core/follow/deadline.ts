import type { JobEvent } from '../ingest/event.ts';
import type { KnownJob } from '../profile.ts';
import { appendReliably, toAppendInput } from './append.ts';
import type { FollowContext } from './context.ts';
import type { Follow } from './follow.ts';
import { parseSnapshot } from './poll.ts';

/** What a job ended by the relay's deadline says, in its profile's terminal event. */
export const DEADLINE_REASON = 'relay gave up: job exceeded its deadline';

/** The terminal event that ends a job past its deadline, stored after `lastSeq` as the profile stores it after what it knew. */
function deadlineEvent(context: FollowContext, lastSeq: number, known: KnownJob): JobEvent {
  const ended = context.options.profile.terminalEvent(lastSeq + 1, DEADLINE_REASON, new Date(context.now()), known);
  return context.latest(ended, known.last);
}

/** Ends a follow stopped by its deadline: stores the deadline's terminal event, unless the job is over. */
export async function endAtDeadline(context: FollowContext, follow: Follow): Promise<void> {
  if (follow.stopReason !== 'deadline' || follow.over) return;
  context.options.logger.warn({ jobId: follow.jobId, lastSeq: follow.lastSeq }, 'job exceeded its deadline; ending it');
  await appendReliably(context.deps, follow, deadlineEvent(context, follow.lastSeq, follow.known));
}

/**
 * Ends a job past its deadline wherever it is followed from: drops its follow here and stores
 * the deadline's terminal event after the last stored seq, unless the job is already over.
 */
export async function endPastDeadline(context: FollowContext, jobId: string): Promise<void> {
  const follow = context.follows.get(jobId);
  if (follow) context.drop(follow);
  const state = await context.options.bus.state(jobId);
  if (!state || state.terminalSeq !== null) return;
  context.options.logger.warn({ jobId, lastSeq: state.lastSeq }, 'job exceeded its deadline; ending it');
  const last = parseSnapshot(context.options.profile, state.snapshot);
  const event = deadlineEvent(context, state.lastSeq, last ? { jobId, last } : { jobId });
  await context.options.bus.append(jobId, toAppendInput(event, state.lastSeq));
}
