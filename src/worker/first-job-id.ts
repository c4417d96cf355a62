import { readEvents } from '../core/upstream-stream.ts';

const FOUND = Symbol('found');

/** Reads a stream until the first event naming a job and returns that id; cancels the stream. */
export async function firstJobId(stream: ReadableStream<Uint8Array>): Promise<string | undefined> {
  let jobId: string | undefined;
  try {
    await readEvents(stream, {
      onEvent(event) {
        if (event.jobId === undefined) return;
        jobId = event.jobId;
        throw FOUND;
      },
    });
  } catch (err) {
    if (err !== FOUND) throw err;
  } finally {
    await stream.cancel().catch(() => undefined);
  }
  return jobId;
}
