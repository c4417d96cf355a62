import type { FollowContext } from './context.ts';
import { endAtDeadline } from './deadline.ts';
import type { Follow } from './follow.ts';
import { pollPhase } from './poll.ts';
import { resume } from './resume.ts';

/** After the stream (or from a takeover): resumes or polls until the job is over, and ends a job past its deadline. */
export async function complete(context: FollowContext, follow: Follow): Promise<void> {
  await resume(context, follow);
  if (!follow.over && !follow.signal.aborted && !context.closing.aborted) await pollPhase(follow, context.pollOptions);
  await endAtDeadline(context, follow);
}
