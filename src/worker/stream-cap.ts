/**
 * Passes an SSE body through and ends it after `maxMs` with `tail` (comment and `retry:` frames), so a
 * subscriber whose disconnect was never noticed is released, and a live one reconnects and
 * resumes from its Last-Event-ID. Cancelling the result cancels the source (the hub's sink).
 * `onEnd` runs once when the stream is over, however it ended.
 */
export function capStream(
  body: ReadableStream<Uint8Array>,
  maxMs: number,
  tail: readonly Uint8Array[],
  onEnd: () => void = () => {},
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let done = false;
  const finish = (controller: ReadableStreamDefaultController<Uint8Array>, last: readonly Uint8Array[] = []) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    for (const frame of last) controller.enqueue(frame);
    controller.close();
    onEnd();
  };
  return new ReadableStream<Uint8Array>({
    start(controller) {
      timer = setTimeout(() => {
        finish(controller, tail);
        reader.cancel('stream time limit').catch(() => undefined);
      }, maxMs);
    },
    async pull(controller) {
      const chunk = await reader.read().catch(() => ({ done: true as const, value: undefined }));
      if (done) return;
      if (chunk.done) finish(controller);
      else controller.enqueue(chunk.value);
    },
    cancel(reason) {
      if (!done) {
        done = true;
        clearTimeout(timer);
        onEnd();
      }
      return reader.cancel(reason);
    },
  });
}
