import { createParser } from 'eventsource-parser';

/**
 * Redacts the upstream's SSE body event by event: each event's `data` (and `event`, `id`,
 * comments) goes through `redact` once complete, so a secret split across chunks or escaped in
 * JSON is caught whole. An event without a secret keeps its data byte for byte; the framing is
 * re-encoded (`data:` lines, blank line), comments are kept (they show the stream is alive).
 */
export function redactStream(body: ReadableStream<Uint8Array>, redact: (text: string) => string): ReadableStream<Uint8Array> {
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  let out = '';
  const parser = createParser({
    onEvent(message) {
      if (message.event !== undefined) out += `event: ${redact(message.event).replace(/[\r\n]/g, '')}\n`;
      if (message.id !== undefined) out += `id: ${redact(message.id).replace(/[\r\n]/g, '')}\n`;
      for (const line of redact(message.data).split(/\r\n|\r|\n/)) out += `data: ${line}\n`;
      out += '\n';
    },
    onComment(comment) {
      for (const line of redact(comment).split(/\r\n|\r|\n/)) out += `: ${line}\n`;
    },
    onRetry(retry) {
      out += `retry: ${retry}\n`;
    },
  });
  const emit = (controller: TransformStreamDefaultController<Uint8Array>) => {
    if (out === '') return;
    controller.enqueue(encoder.encode(out));
    out = '';
  };
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        parser.feed(decoder.decode(chunk, { stream: true }));
        emit(controller);
      },
      flush(controller) {
        // An unterminated last event still counts, as the event reader treats it.
        parser.feed(`${decoder.decode()}\n\n`);
        emit(controller);
      },
    }),
  );
}
