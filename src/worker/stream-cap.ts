export interface StreamCapOptions {
  /**
   * Frames (a comment and `retry:`) ending a stream cut at `maxMs`, before a clean close: for a
   * client that reconnects. Undefined: a cut or a failing source errors the stream (a drop-in SDK
   * takes a clean close for the job's end). workerd still ends an errored body with a clean
   * chunked end (cloudflare/workerd#6818): a drop-in client relies on the style's early-end event.
   */
  tail?: readonly Uint8Array[];
  /** Runs once when the stream is over, however it ended. */
  onEnd?: () => void;
}

/**
 * Passes an SSE body through and ends it after `maxMs` (the front's backstop behind the job
 * object's own cut), so a subscriber whose disconnect was never noticed is released, and a live
 * one reconnects and resumes from its Last-Event-ID. Cancelling the result cancels the source (the hub's sink).
 */
export function capStream(body: ReadableStream<Uint8Array>, maxMs: number, options: StreamCapOptions = {}): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let done = false;
  const settle = (): boolean => {
    if (done) return false;
    done = true;
    clearTimeout(timer);
    options.onEnd?.();
    return true;
  };
  /** The stream ends before its source did (the cut, or the source failed). */
  const endEarly = (controller: ReadableStreamDefaultController<Uint8Array>, reason: string) => {
    if (!settle()) return;
    if (!options.tail) {
      controller.error(new Error(reason));
      return;
    }
    for (const frame of options.tail) controller.enqueue(frame);
    controller.close();
  };
  return new ReadableStream<Uint8Array>({
    start(controller) {
      timer = setTimeout(() => {
        endEarly(controller, 'stream time limit');
        reader.cancel('stream time limit').catch(() => undefined);
      }, maxMs);
    },
    async pull(controller) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch {
        endEarly(controller, 'the job stream broke');
        return;
      }
      if (done) return;
      if (!chunk.done) {
        controller.enqueue(chunk.value);
        return;
      }
      settle();
      controller.close();
    },
    cancel(reason) {
      settle();
      return reader.cancel(reason);
    },
  });
}
