import { RelayError } from '../core/errors.ts';

/** One line of an NDJSON body, numbered from 1. */
export interface NdjsonLine {
  text: string;
  line: number;
}

/**
 * Splits a decoded NDJSON body into the whole lines each chunk completes, one array per chunk (blank
 * lines skipped, a trailing CR dropped). A line counts only with its newline, as NDJSON has it: a body
 * cut mid-way never yields its partial last line, even where the runtime reports the cut as a clean
 * end (workerd behind `wrangler dev` does); text left without one at the end is a 400. A line longer
 * than `maxLineChars` is a 413.
 */
export function ndjsonLines(maxLineChars: number): TransformStream<string, NdjsonLine[]> {
  let pending = '';
  let line = 0;
  const whole = (texts: string[]): NdjsonLine[] =>
    texts.flatMap((text) => {
      line++;
      const trimmed = text.endsWith('\r') ? text.slice(0, -1) : text;
      return trimmed.trim() === '' ? [] : [{ text: trimmed, line }];
    });
  return new TransformStream({
    transform(chunk, controller) {
      const parts = (pending + chunk).split('\n');
      pending = parts.pop() ?? '';
      if (pending.length > maxLineChars)
        throw new RelayError('payload_too_large', `line ${line + parts.length + 1}: exceeds ${maxLineChars} characters`);
      const lines = whole(parts);
      if (lines.length > 0) controller.enqueue(lines);
    },
    flush() {
      if (pending.trim() !== '')
        throw new RelayError('bad_request', `line ${line + 1}: no newline at its end (each NDJSON line ends with one); not stored`);
    },
  });
}
