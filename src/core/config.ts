import { z } from 'zod';

/** The vendor's API, used when a token is configured and no URL is. */
export const VENDOR_URL = 'https://api.useapi.net/v3/midjourney';

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);
const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const bytes = (text: string) => new TextEncoder().encode(text).byteLength;
/** Comma-separated list; blanks dropped. Messages never include the values (they may be secrets). */
const list = (item: z.ZodType<string>, what: string) =>
  z.string().transform((raw, ctx) => {
    const items = raw
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    for (const value of items) {
      if (!item.safeParse(value).success) {
        ctx.addIssue({ code: 'custom', message: `each entry must be ${what}` });
        return z.NEVER;
      }
    }
    return items;
  });
const origin = z.string().refine((value) => {
  try {
    const url = new URL(value);
    return /^https?:$/.test(url.protocol) && url.origin === value;
  } catch {
    return false;
  }
});

const schema = z.object({
  PORT: int(0, 65535).default(8080),
  HOST: z.string().min(1).default('0.0.0.0'),
  UPSTREAM_URL: z.url({ protocol: /^https?$/ }).optional(),
  UPSTREAM_TOKEN: z
    .string()
    .min(8, 'must be at least 8 characters (a shorter token cannot be told apart from data, so it could not be redacted)')
    .optional(),
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
  HEARTBEAT_MS: int(100, 3_600_000).default(15_000),
  RETRY_MS: int(0, 3_600_000).default(2_000),
  HISTORY_TTL_S: int(1).default(86_400),
  HISTORY_MAX_EVENTS: int(1, 1_000_000).default(10_000),
  LEASE_MS: int(100, 3_600_000).default(10_000),
  POLL_INTERVAL_MS: int(10, 3_600_000).default(2_000),
  JOB_DEADLINE_MS: int(1000).default(30 * 60_000),
  MAX_BODY_BYTES: int(1, 100 * 1024 * 1024).default(1024 * 1024),
  INSTANCE_ID: z
    .string()
    .regex(/^[\w.-]{1,64}$/)
    .optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SIM_TOKEN: z.string().min(1).optional(),
  SIM_MAX_JOBS: int(1, 10_000).default(3),
  NODE_ENV: z.string().optional(),
  GATEWAY_API_KEYS: list(z.string().regex(/^[\x21-\x7e]{16,256}$/), '16-256 printable characters without spaces').default([]),
  SUBSCRIBE_TOKEN_SECRET: z
    .string()
    .refine((s) => bytes(s) >= 32, 'must be at least 32 bytes')
    .optional(),
  SUBSCRIBE_TOKEN_TTL_S: int(10, 7 * 86_400).default(3600),
  SUBSCRIBE_PUBLIC: bool.default(false),
  CORS_ORIGINS: list(origin, 'an origin like https://app.example.com (scheme, host, optional port; no path)').default([]),
  ALLOW_REPLY_URL: bool.default(false),
  MAX_PROMPT_CHARS: int(1, 1_000_000).default(5000),
  CREATE_RATE_PER_MIN: int(0, 1_000_000).default(60),
  MAX_SUBSCRIBERS: int(0, 10_000_000).default(10_000),
  MAX_SUBSCRIBERS_PER_IP: int(0, 10_000_000).default(100),
  MAX_REPLAY_EVENTS: int(1, 1_000_000).default(1000),
  TRUST_PROXY: bool.default(false),
  CREATE_QUEUE_MAX: int(0, 1_000_000).default(0),
  CREATE_QUEUE_POLL_MS: int(10, 3_600_000).default(1000),
  CREATE_QUEUE_MAX_WAIT_MS: int(1000, 86_400_000).default(600_000),
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
  if (config.NODE_ENV === 'production') {
    const missing = [
      config.GATEWAY_API_KEYS.length === 0 ? 'GATEWAY_API_KEYS: required when NODE_ENV=production' : '',
      config.SUBSCRIBE_TOKEN_SECRET === undefined ? 'SUBSCRIBE_TOKEN_SECRET: required (at least 32 bytes) when NODE_ENV=production' : '',
    ].filter((m) => m !== '');
    if (missing.length > 0) throw new ConfigError(`invalid configuration: ${missing.join('; ')}`);
  }
  return { ...config, UPSTREAM_URL: upstreamUrl };
}

/** Every configured secret, for the redactor: none of these may appear in a response or log line. */
export function configSecrets(config: Config): string[] {
  return [config.UPSTREAM_TOKEN, config.SIM_TOKEN, config.SUBSCRIBE_TOKEN_SECRET, ...config.GATEWAY_API_KEYS].filter(
    (s): s is string => s !== undefined,
  );
}
