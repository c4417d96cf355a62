import type { Logger } from '../core/logger.ts';

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

/** JSON lines on the console (Workers Logs / `wrangler tail` pick them up), secrets removed. */
export function createConsoleLogger(level: string, redact: (text: string) => string): Logger {
  const min = level === 'silent' ? Infinity : Math.max(0, LEVELS.indexOf(level));
  const log = (name: string, fields: Record<string, unknown>, message: string) => {
    if (LEVELS.indexOf(name) < min) return;
    const line = redact(JSON.stringify({ level: name, service: 'sse-relay', msg: message, ...fields }));
    if (name === 'error') console.error(line);
    else console.log(line);
  };
  return {
    debug: (fields, message) => log('debug', fields, message),
    info: (fields, message) => log('info', fields, message),
    warn: (fields, message) => log('warn', fields, message),
    error: (fields, message) => log('error', fields, message),
  };
}
