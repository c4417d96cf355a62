import pino from 'pino';
import type { Logger } from '../core/logger.ts';

function scrub(fields: Record<string, unknown>, redact: (text: string) => string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (typeof value === 'string') out[key] = redact(value);
    else if (value instanceof Error) out[key] = redact(value.message);
    else if (typeof value === 'object' && value !== null) out[key] = scrubObject(value, redact);
    else out[key] = value;
  }
  return out;
}

/** An object field, redacted as JSON; kept as redacted text when that is no longer JSON (a log call never throws). */
function scrubObject(value: object, redact: (text: string) => string): unknown {
  let text: string;
  try {
    text = redact(JSON.stringify(value));
  } catch {
    return '[unserialisable]';
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** pino behind the core's Logger, with every secret removed from fields and messages. */
export function createNodeLogger(options: {
  level: string;
  redact: (text: string) => string;
  /** Names this instance on every line, so two instances' logs can be told apart. */
  instance: string;
  destination?: pino.DestinationStream;
}): Logger {
  const base = pino(
    { level: options.level, base: { service: 'sse-relay', instance: options.instance, pid: process.pid } },
    // Asynchronous: a line is queued, not written to stdout in the request's own turn (a synchronous
    // write cost ~90 µs per access-log line). pino flushes what is queued when the process exits.
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
  const { redact } = options;
  return {
    debug: (fields, message) => base.debug(scrub(fields, redact), redact(message)),
    info: (fields, message) => base.info(scrub(fields, redact), redact(message)),
    warn: (fields, message) => base.warn(scrub(fields, redact), redact(message)),
    error: (fields, message) => base.error(scrub(fields, redact), redact(message)),
  };
}
