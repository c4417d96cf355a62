import { z } from 'zod';

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
  /** Default depends on the mode: loopback when open, every interface with API keys. */
  HOST: z.string().min(1).optional(),
  UPSTREAM_URL: z.url({ protocol: /^https?$/ }).optional(),
  UPSTREAM_TOKEN: z
    .string()
    .min(8, 'must be at least 8 characters (a shorter token cannot be told apart from data, so it could not be redacted)')
    .optional(),
  /** fal.ai's queue (the fal-queue profile): its key, sent as `Authorization: Key`, and optionally another queue host. */
  FAL_KEY: z
    .string()
    .min(8, 'must be at least 8 characters (a shorter key cannot be told apart from data, so it could not be redacted)')
    .optional(),
  FAL_QUEUE_URL: z.url({ protocol: /^https?$/ }).optional(),
  // OpenAI Responses profile: its vendor key (a secret, redacted everywhere) and optional base URL.
  OPENAI_API_KEY: z
    .string()
    .min(8, 'must be at least 8 characters (a shorter key cannot be told apart from data, so it could not be redacted)')
    .optional(),
  OPENAI_BASE_URL: z.url({ protocol: /^https?$/ }).optional(),
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
  HEARTBEAT_MS: int(100, 3_600_000).default(15_000),
  RETRY_MS: int(0, 3_600_000).default(2_000),
  HISTORY_TTL_S: int(1).default(86_400),
  HISTORY_MAX_EVENTS: int(1, 1_000_000).default(10_000),
  LEASE_MS: int(100, 3_600_000).default(10_000),
  POLL_INTERVAL_MS: int(10, 3_600_000).default(2_000),
  JOB_DEADLINE_MS: int(1000).default(30 * 60_000),
  /** An upstream stream silent (not a byte) for this long is abandoned for polling. */
  UPSTREAM_IDLE_MS: int(100, 3_600_000).default(300_000),
  /** On shutdown, open SSE streams are closed spread over this window (not all at once). */
  DRAIN_MS: int(0, 60_000).default(5_000),
  MAX_BODY_BYTES: int(1, 100 * 1024 * 1024).default(1024 * 1024),
  INSTANCE_ID: z
    .string()
    .regex(/^[\w.-]{1,64}$/)
    .optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SIM_TOKEN: z.string().min(1).optional(),
  SIM_MAX_JOBS: int(1, 10_000).default(3),
  NODE_ENV: z.string().optional(),
  GATEWAY_OPEN: bool.default(false),
  SIMULATOR: bool.default(false),
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
  /** Gateway processes sharing the port (Node): a count, or `auto` for one per core. */
  WORKERS: z
    .string()
    .regex(/^(auto|[1-9]\d{0,2})$/, 'must be auto or a count from 1 to 999')
    .transform((v) => (v === 'auto' ? 'auto' : Number(v)))
    .default(1),
  CREATE_QUEUE_MAX: int(0, 1_000_000).default(0),
  CREATE_QUEUE_POLL_MS: int(10, 3_600_000).default(1000),
  CREATE_QUEUE_MAX_WAIT_MS: int(1000, 86_400_000).default(600_000),
});

/** One configuration variable of the schema, with its default as an environment value would spell it. */
export interface ConfigVariable {
  name: string;
  /** Absent when the variable has no fixed default (optional, derived from the mode, or an empty list). */
  default?: string;
}

/** Every variable the schema reads, in schema order, with its default: what the configuration page documents. */
export function configVariables(): ConfigVariable[] {
  const defaults: Record<string, unknown> = schema.parse({});
  return Object.keys(schema.shape).map((name) => {
    const value = defaults[name];
    if (value === undefined || (Array.isArray(value) && value.length === 0)) return { name };
    return { name, default: String(value) };
  });
}

/** Validated configuration; `UPSTREAM_URL` undefined with a token means the profile's own vendor URL (see src/profiles). */
export type Config = Omit<z.infer<typeof schema>, 'HOST'> & { HOST: string };

/** A configuration problem, naming every variable at fault. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** NODE_ENV values that mean "not production"; anything else set (Production, prod, " production", staging…) is production. */
const DEVELOPMENT_ENVS: ReadonlySet<string> = new Set(['development', 'dev', 'test', 'local']);

/** Whether NODE_ENV names production: unset or a development name is not, any other value is (case and spaces ignored). */
export function isProduction(nodeEnv: string | undefined): boolean {
  const name = (nodeEnv ?? '').trim().toLowerCase();
  return name !== '' && !DEVELOPMENT_ENVS.has(name);
}

/**
 * What `--dev` (`npm start`) asks for: an open gateway when no API keys are set, the built-in
 * simulator when no upstream is. Explicit values in `env` win; with NODE_ENV naming production
 * it asks for nothing (production gets neither by default).
 */
export function withDevDefaults(env: Record<string, string | undefined>): Record<string, string | undefined> {
  if (isProduction(env.NODE_ENV)) return env;
  const set = (name: string) => (env[name] ?? '') !== '';
  return {
    ...(set('GATEWAY_API_KEYS') ? {} : { GATEWAY_OPEN: 'true' }),
    ...(set('UPSTREAM_URL') || set('UPSTREAM_TOKEN') || set('FAL_KEY') || set('OPENAI_API_KEY') ? {} : { SIMULATOR: 'true' }),
    ...Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== '')),
  };
}

/**
 * The mode rule, shared by Node and the Worker: running without API keys (open) and running
 * against the in-process simulator are things an operator asks for (GATEWAY_OPEN=true,
 * SIMULATOR=true), never fallbacks; production never runs open.
 */
function modeProblems(config: z.infer<typeof schema>): string[] {
  const production = isProduction(config.NODE_ENV);
  const keys = config.GATEWAY_API_KEYS.length > 0;
  const upstream =
    config.UPSTREAM_URL !== undefined ||
    config.UPSTREAM_TOKEN !== undefined ||
    config.FAL_KEY !== undefined ||
    config.OPENAI_API_KEY !== undefined;
  const problems: string[] = [];
  if (!keys && !config.GATEWAY_OPEN) {
    problems.push(
      'GATEWAY_API_KEYS: required; to run without access control (development only: anyone who can reach the gateway starts jobs with your token) set GATEWAY_OPEN=true, as `npm start` does',
    );
  }
  if (keys && config.GATEWAY_OPEN) problems.push('GATEWAY_OPEN: cannot be combined with GATEWAY_API_KEYS');
  if (production && config.GATEWAY_OPEN) problems.push('GATEWAY_OPEN: not allowed when NODE_ENV is production; set GATEWAY_API_KEYS');
  if (production && keys && config.SUBSCRIBE_TOKEN_SECRET === undefined) {
    problems.push('SUBSCRIBE_TOKEN_SECRET: required (at least 32 bytes) when NODE_ENV is production');
  }
  if (!upstream && !config.SIMULATOR) {
    problems.push(
      "UPSTREAM_URL: no upstream configured; set a profile's credential (UPSTREAM_TOKEN, OPENAI_API_KEY or FAL_KEY, each with its optional URL), or SIMULATOR=true for the built-in simulator, as `npm start` does",
    );
  }
  if (upstream && config.SIMULATOR)
    problems.push('SIMULATOR: cannot be combined with an upstream credential (UPSTREAM_TOKEN, OPENAI_API_KEY or FAL_KEY)');
  if (config.UPSTREAM_URL !== undefined && config.UPSTREAM_TOKEN === undefined) {
    problems.push('UPSTREAM_TOKEN: required when UPSTREAM_URL is set');
  }
  if (config.FAL_QUEUE_URL !== undefined && config.FAL_KEY === undefined) problems.push('FAL_KEY: required when FAL_QUEUE_URL is set');
  if (config.OPENAI_BASE_URL !== undefined && config.OPENAI_API_KEY === undefined) {
    problems.push('OPENAI_API_KEY: required when OPENAI_BASE_URL is set');
  }
  return problems;
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
  const problems = modeProblems(config);
  if (problems.length > 0) throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  // Open mode listens on loopback only unless told otherwise (a Dockerfile sets HOST=0.0.0.0).
  const host = config.HOST ?? (config.GATEWAY_OPEN ? '127.0.0.1' : '0.0.0.0');
  return { ...config, HOST: host };
}

/** Every configured secret, for the redactor: none of these may appear in a response or log line. */
export function configSecrets(config: Config): string[] {
  return [
    config.UPSTREAM_TOKEN,
    config.FAL_KEY,
    config.OPENAI_API_KEY,
    config.SIM_TOKEN,
    config.SUBSCRIBE_TOKEN_SECRET,
    ...config.GATEWAY_API_KEYS,
  ].filter((s): s is string => s !== undefined);
}
