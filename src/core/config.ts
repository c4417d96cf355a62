import { z } from 'zod';

/** The vendor's API, used when a token is configured and no URL is. */
export const VENDOR_URL = 'https://api.useapi.net/v3/midjourney';

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);
const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

const schema = z.object({
  PORT: int(0, 65535).default(8080),
  HOST: z.string().min(1).default('0.0.0.0'),
  UPSTREAM_URL: z.url({ protocol: /^https?$/ }).optional(),
  UPSTREAM_TOKEN: z.string().min(1).optional(),
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
  HEARTBEAT_MS: int(100, 3_600_000).default(15_000),
  RETRY_MS: int(0, 3_600_000).default(2_000),
  HISTORY_TTL_S: int(1).default(86_400),
  HISTORY_MAX_EVENTS: int(1, 1_000_000).default(10_000),
  LEASE_MS: int(100, 3_600_000).default(10_000),
  POLL_INTERVAL_MS: int(10, 3_600_000).default(2_000),
  JOB_DEADLINE_MS: int(1000).default(30 * 60_000),
  MAX_BODY_BYTES: int(1, 100 * 1024 * 1024).default(1024 * 1024),
  INSTANCE_ID: z.string().regex(/^[\w.-]{1,64}$/).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SIM_TOKEN: z.string().min(1).optional(),
  SIM_MAX_JOBS: int(1, 10_000).default(3),
});

/** Validated configuration; `upstreamUrl` undefined means "run the simulator in-process". */
export type Config = Omit<z.infer<typeof schema>, 'UPSTREAM_URL'> & { UPSTREAM_URL: string | undefined };

/** A configuration problem, naming every variable at fault. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Parses environment variables; throws ConfigError naming each invalid variable. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const result = schema.safeParse(present);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  const config = result.data;
  const upstreamUrl = config.UPSTREAM_URL ?? (config.UPSTREAM_TOKEN ? VENDOR_URL : undefined);
  if (upstreamUrl && !config.UPSTREAM_TOKEN) {
    throw new ConfigError('invalid configuration: UPSTREAM_TOKEN: required when UPSTREAM_URL is set');
  }
  return { ...config, UPSTREAM_URL: upstreamUrl };
}
