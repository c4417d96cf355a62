import pino from 'pino';
import type { Logger } from '../core/logger.ts';

function scrub(fields: Record<string, unknown>, redact: (text: string) => string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key in fields) {
    const value = fields[key];
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
  const stdout = options.destination ? undefined : bufferedStdout();
  const base = pino(
    { level: options.level, base: { service: 'sse-relay', instance: options.instance, pid: process.pid } },
    options.destination ?? stdout?.destination,
  );
  const { redact } = options;
  const written = stdout?.written ?? (() => undefined);
  const destination = options.destination ?? (stdout?.destination as pino.DestinationStream);
  // What pino writes after `time` on every line: the base fields, serialized once.
  const bound = (base as unknown as Record<symbol, string>)[pino.symbols.chindingsSym];
  const text = (value: string) => jsonString(redact(value));
  // A line below the level costs nothing: not even its redaction.
  const at =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (fields: Record<string, unknown>, message: string): void => {
      if (!base.isLevelEnabled(level)) return;
      base[level](scrub(fields, redact), redact(message));
      written();
    };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    // pino's own line for these fields (level, time, base fields, fields in order, msg), built directly.
    request(reqId, method, path, status, ms, ip) {
      if (!base.isLevelEnabled('info')) return;
      const id = reqId === undefined ? '' : `,"reqId":${text(reqId)}`;
      destination.write(
        `{"level":30,"time":${Date.now()}${bound}${id},"method":${text(method)},"path":${text(path)},"status":${status},"ms":${ms},"ip":${text(ip)},"msg":"request"}\n`,
      );
      written();
    },
  };
}

/** Printable ASCII but `"` and `\`: JSON text as it is. */
const PLAIN_JSON_TEXT = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** `value` as a JSON string. */
function jsonString(value: string): string {
  return PLAIN_JSON_TEXT.test(value) ? `"${value}"` : JSON.stringify(value);
}

/** Bytes of log lines gathered before they are written to stdout. */
const LOG_BUFFER_BYTES = 8 * 1024;
/** The longest a line waits in that buffer. */
export const LOG_FLUSH_MS = 100;
/** Lines of one such window written at once, each on its own: a quiet process's lines (start-up, a warning) are not held. */
const LOG_PROMPT_LINES = 8;

/**
 * stdout for log lines, written asynchronously: a line is queued, not written in the request's
 * own turn (a synchronous write cost ~90 µs per access-log line). The first lines of every
 * 100 ms go out at once; past those, lines leave together once 8 KiB are gathered or the 100 ms
 * are over (each write is a job for libuv's thread pool and a wake-up: one per line cost more
 * than the rest of a new subscriber). Lines are gathered here and handed to pino's destination
 * (sonic-boom, which handles partial writes, EAGAIN and the exit) as one string per batch:
 * appended to it one by one, each line cost it the UTF-8 length of everything gathered so far
 * (≈ 10 µs a line at 8 KiB). What is gathered is written out when the process exits.
 */
function bufferedStdout(): { destination: pino.DestinationStream; written(): void } {
  const sonic = pino.destination({ dest: 1, sync: false, minLength: LOG_BUFFER_BYTES });
  let lines: string[] = [];
  let gathered = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let prompt = 0;
  const pass = () => {
    if (lines.length === 0) return;
    const text = lines.length === 1 ? (lines[0] as string) : lines.join('');
    lines = [];
    gathered = 0;
    sonic.write(text);
  };
  const endWindow = () => {
    timer = undefined;
    prompt = 0;
    pass();
    sonic.flush();
  };
  // Before pino's own exit hook, which writes out what sonic-boom holds.
  process.prependListener('exit', pass);
  return {
    destination: {
      write(line: string) {
        lines.push(line);
        // UTF-16 units: the batch's size to within its non-ASCII characters, without counting bytes.
        gathered += line.length;
        if (gathered >= LOG_BUFFER_BYTES) pass();
      },
    },
    written() {
      if (prompt < LOG_PROMPT_LINES) {
        prompt++;
        pass();
        sonic.flush();
      }
      if (timer !== undefined) return;
      timer = setTimeout(endWindow, LOG_FLUSH_MS);
      timer.unref();
    },
  };
}
