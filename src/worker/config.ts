import { z } from 'zod';
import { type Config, ConfigError, loadConfig } from '../core/config.ts';

/** The shared configuration plus what only the Worker needs. */
export type WorkerConfig = Config & {
  UPSTREAM_TOKEN: string;
  /** A subscriber stream is ended (with `retry:`) after this long; the client resumes. */
  MAX_STREAM_MS: number;
};

const maxStreamMs = z.coerce
  .number()
  .int()
  .min(1000)
  .max(24 * 3_600_000)
  .default(5 * 60_000);

/** Validates the Worker's vars with the same schema as Node; there is no in-process simulator here. */
export function loadWorkerConfig(env: object): WorkerConfig {
  const vars: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(env)) if (typeof value === 'string') vars[key] = value;
  if (vars.SIMULATOR === 'true' || vars.SIMULATOR === '1') {
    throw new ConfigError(
      'invalid configuration: SIMULATOR: there is no in-process simulator on Workers; set UPSTREAM_URL and UPSTREAM_TOKEN',
    );
  }
  // The same mode rule as Node: without GATEWAY_API_KEYS the Worker refuses to serve unless GATEWAY_OPEN=true.
  const config = loadConfig(vars);
  if (!config.UPSTREAM_TOKEN) {
    throw new ConfigError('invalid configuration: UPSTREAM_TOKEN: required (wrangler secret put UPSTREAM_TOKEN)');
  }
  if (config.GATEWAY_API_KEYS.length > 0 && !config.SUBSCRIBE_TOKEN_SECRET) {
    // Each isolate would pick its own random secret: a token issued by one fails on the others.
    throw new ConfigError(
      'invalid configuration: SUBSCRIBE_TOKEN_SECRET: required on Workers when GATEWAY_API_KEYS is set (wrangler secret put SUBSCRIBE_TOKEN_SECRET)',
    );
  }
  const max = maxStreamMs.safeParse(vars.MAX_STREAM_MS === '' ? undefined : vars.MAX_STREAM_MS);
  if (!max.success) throw new ConfigError('invalid configuration: MAX_STREAM_MS: expected an integer from 1000 to 86400000');
  return { ...config, UPSTREAM_TOKEN: config.UPSTREAM_TOKEN, MAX_STREAM_MS: max.data };
}
