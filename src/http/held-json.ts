/**
 * A JSON answer whose value takes long to be known (a blocking create waiting for its job's end):
 * the status and headers go out at once, a newline every `heartbeatMs` keeps the body alive (JSON
 * allows whitespace before its value), the value comes last. A client's request timeout, and Node
 * fetch's five-minute header and body timeouts, then never fire on a long wait, and so never make
 * an SDK retry a create that already started a job.
 */
export function heldJsonBody(value: Promise<unknown>, heartbeatMs: number): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let timer: ReturnType<typeof setInterval> | undefined;
  let done = false;
  const stop = () => {
    done = true;
    clearInterval(timer);
  };
  return new ReadableStream<Uint8Array>({
    start(controller) {
      const send = (text: string) => {
        if (!done) controller.enqueue(encoder.encode(text));
      };
      timer = setInterval(() => send('\n'), heartbeatMs);
      value.then(
        (answer) => {
          send(JSON.stringify(answer));
          if (!done) controller.close();
          stop();
        },
        (err: unknown) => {
          if (!done) controller.error(err);
          stop();
        },
      );
    },
    cancel: stop,
  });
}
