import { z } from 'zod';
import { type Config, ConfigError, loadConfig } from '../config.ts';
import type { Variables } from '../core/config.ts';
import { PROFILES } from '../profiles/index.ts';

/** The shared configuration plus what only the Worker needs. */
export type WorkerConfig = Config & {
  /** The job's object ends a subscriber stream after this long (the uniform path with `retry:`, a drop-in one never cleanly); the client resumes. */
  MAX_STREAM_MS: number;
};

const maxStreamMs = z.coerce
  .number()
  .int()
  .min(1000)
  .max(24 * 3_600_000)
  .default(5 * 60_000);

/** The Worker's own variables, beside the shared ones (for its `Env` and the configuration's documentation). */
export const WORKER_VARIABLES = { MAX_STREAM_MS: { schema: maxStreamMs } } satisfies Variables;

/**
 * Validates the Worker's vars with the same schema as Node; there is no in-process simulator
 * here, so at least one profile's credential must be set (the Worker serves the configured ones).
 */
export function loadWorkerConfig(env: object): WorkerConfig {
  const vars: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(env)) if (typeof value === 'string') vars[key] = value;
  const credentials = PROFILES.map((entry) => entry.variables.credential);
  const oneOf = `${credentials.slice(0, -1).join(', ')} or ${credentials.at(-1)}`;
  if (vars.SIMULATOR === 'true' || vars.SIMULATOR === '1') {
    throw new ConfigError(
      `invalid configuration: SIMULATOR: there is no in-process simulator on Workers; set a profile's credential (${oneOf})`,
    );
  }
  // Before the shared rules, whose "no upstream" problem offers the simulator.
  if (!credentials.some((name) => (vars[name] ?? '') !== '')) {
    throw new ConfigError(
      `invalid configuration: ${credentials.join(', ')}: no profile configured; set ${oneOf} (wrangler secret put <name>); the Worker serves the profiles whose credential is set`,
    );
  }
  // The same mode rule as Node: without GATEWAY_API_KEYS the Worker refuses to serve unless GATEWAY_OPEN=true.
  const config = loadConfig(vars);
  if (config.GATEWAY_API_KEYS.length > 0 && !config.SUBSCRIBE_TOKEN_SECRET) {
    // Each isolate would pick its own random secret: a token issued by one fails on the others.
    throw new ConfigError(
      'invalid configuration: SUBSCRIBE_TOKEN_SECRET: required on Workers when GATEWAY_API_KEYS is set (wrangler secret put SUBSCRIBE_TOKEN_SECRET)',
    );
  }
  const max = maxStreamMs.safeParse(vars.MAX_STREAM_MS === '' ? undefined : vars.MAX_STREAM_MS);
  if (!max.success) throw new ConfigError('invalid configuration: MAX_STREAM_MS: expected an integer from 1000 to 86400000');
  return { ...config, MAX_STREAM_MS: max.data };
}
