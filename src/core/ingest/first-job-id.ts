import { namedJobId } from './job-id.ts';
import type { UpstreamProfile } from '../profile.ts';
import { readEvents } from './upstream-stream.ts';

const FOUND = Symbol('found');

/**
 * Reads an upstream stream until its first event naming a job (the same mapping and the same
 * validation as the follower's) and returns that id; cancels the stream. For a runtime that
 * must know the job before it hands the stream to the job's owner (the Worker's Durable Object).
 */
export async function firstJobId(
  stream: ReadableStream<Uint8Array>,
  options: { profile: Pick<UpstreamProfile, 'toEvent'>; redact(text: string): string },
): Promise<string | undefined> {
  let jobId: string | undefined;
  let next = 0;
  try {
    await readEvents(stream, {
      redact: options.redact,
      toEvent: (message, seq) => options.profile.toEvent(message, seq),
      nextSeq: () => next++,
      onEvent(event) {
        jobId = namedJobId(event);
        if (jobId !== undefined) throw FOUND;
      },
    });
  } catch (err) {
    if (err !== FOUND) throw err;
  } finally {
    await stream.cancel().catch(() => undefined);
  }
  return jobId;
}
