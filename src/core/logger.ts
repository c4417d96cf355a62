/** The logging surface the core needs; pino at the Node edge, console on Workers. */
export interface Logger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
  /**
   * One request's access-log line: the same line as `info({ reqId, method, path, status, ms, ip },
   * 'request')`, which is what a logger without it writes (see logRequest). Node's writes it without
   * the fields' object and the generic serializer: it is one line per new subscriber.
   */
  request?(reqId: string | undefined, method: string, path: string, status: number, ms: number, ip: string): void;
}

/** A logger that drops everything (tests, tools). */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};
