/**
 * The configuration: environment variables parsed and validated in one place. This module
 * declares the gateway's own variables and applies the rules; each upstream profile declares its
 * own (credential, base URL…) in its folder under src/profiles/, and the edge (src/config.ts)
 * passes those declarations in, so the core names no vendor's variable.
 */
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
/** A gateway key: what API keys and publisher keys must be (long enough to be unguessable and redactable). */
const KEY = /^[\x21-\x7e]{16,256}$/;
/** Publisher namespaces: the profile-name rule (a URL segment, a bus key prefix, a metrics label). */
const NAMESPACE = /^[a-z][a-z0-9-]{0,31}$/;
/** `PUBLISHERS`: `<namespace>:<key>,…` (a namespace may have several keys, a key one namespace). Messages never include a key. */
const publishers = z.string().transform((raw, ctx) => {
  const entries: { namespace: string; key: string }[] = [];
  for (const item of raw.split(',').map((s) => s.trim())) {
    if (item === '') continue;
    const at = item.indexOf(':');
    const namespace = item.slice(0, Math.max(0, at));
    const key = item.slice(at + 1);
    if (at < 0 || !NAMESPACE.test(namespace) || !KEY.test(key)) {
      ctx.addIssue({
        code: 'custom',
        message:
          'each entry must be <namespace>:<key>, the namespace like a profile name (a-z, 0-9, -; 32 at most), the key 16-256 printable characters without spaces',
      });
      return z.NEVER;
    }
    if (entries.some((entry) => entry.key === key)) {
      ctx.addIssue({
        code: 'custom',
        message: `a key is given twice (entry of namespace ${namespace}); each key belongs to one namespace`,
      });
      return z.NEVER;
    }
    entries.push({ namespace, key });
  }
  return entries;
});
const origin = z.string().refine((value) => {
  try {
    const url = new URL(value);
    return /^https?:$/.test(url.protocol) && url.origin === value;
  } catch {
    return false;
  }
});

/** One environment variable: how its raw string is read and whether its value is a secret. */
export interface Variable<T = unknown> {
  /** Reads the raw string (unset or empty: undefined); a `.default()` on it is the variable's default. */
  readonly schema: z.ZodType<T>;
  /** Its value never appears in a response, frame, log line or error: the redactor knows it. */
  readonly secret?: boolean;
  /** The default as an operator reads it, where the schema has none because it depends on something else. */
  readonly default?: string;
  /** The secrets in a parsed value, when not the value itself (or each item of a list): PUBLISHERS' keys. */
  secretsOf?(value: T): readonly string[];
}

/** Variables by name. */
export type Variables = Readonly<Record<string, Variable>>;

/** Parsed values by variable name. */
export type ValuesOf<V extends Variables> = { -readonly [K in keyof V]: z.output<V[K]['schema']> };

/**
 * The variables one upstream profile declares. The mode rules know two by role: the credential
 * (set: the profile is served) and the base URL (another host than the vendor's own), each
 * declared in `variables`.
 */
export interface ProfileVariables<V extends Variables = Variables> {
  /** The variable holding the profile's credential; always a secret. */
  readonly credential: string;
  /** The variable naming another base URL than `vendorUrl`; only with the credential. */
  readonly baseUrl: string;
  /** The vendor's own base URL: what the credential alone means. */
  readonly vendorUrl: string;
  /** Every variable the profile reads, its credential and base URL included. */
  readonly variables: V;
}

type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;

/** The parsed values of the variables of every profile in `P` (a union of declarations). */
export type ProfileValues<P extends ProfileVariables> = UnionToIntersection<P extends ProfileVariables<infer V> ? ValuesOf<V> : never>;

/** The gateway's own variables (the profiles' are declared in src/profiles/). */
const GATEWAY_VARIABLES = {
  PORT: { schema: int(0, 65535).default(8080) },
  /** Default depends on the mode: loopback when open, every interface with API keys. */
  HOST: { schema: z.string().min(1).optional(), default: '127.0.0.1 when GATEWAY_OPEN=true, else 0.0.0.0' },
  REDIS_URL: { schema: z.url({ protocol: /^rediss?$/ }).optional() },
  /** A Redis Cluster instead of REDIS_URL: seed nodes `host:port`, comma-separated. */
  REDIS_CLUSTER_NODES: { schema: list(z.string().regex(/^[\w.-]+:\d{1,5}$/), 'host:port').optional() },
  REDIS_USERNAME: { schema: z.string().min(1).optional() },
  REDIS_PASSWORD: { schema: z.string().min(1).optional(), secret: true },
  REDIS_TLS: { schema: bool.default(false) },
  HEARTBEAT_MS: { schema: int(100, 3_600_000).default(15_000) },
  RETRY_MS: { schema: int(0, 3_600_000).default(2_000) },
  HISTORY_TTL_S: { schema: int(1).default(86_400) },
  HISTORY_MAX_EVENTS: { schema: int(1, 1_000_000).default(10_000) },
  LEASE_MS: { schema: int(100, 3_600_000).default(10_000) },
  POLL_INTERVAL_MS: { schema: int(10, 3_600_000).default(2_000) },
  JOB_DEADLINE_MS: { schema: int(1000).default(30 * 60_000) },
  /** An upstream stream silent (not a byte) for this long is abandoned for polling. */
  UPSTREAM_IDLE_MS: { schema: int(100, 3_600_000).default(300_000) },
  /** On shutdown, open SSE streams are closed spread over this window (not all at once). */
  DRAIN_MS: { schema: int(0, 60_000).default(5_000) },
  MAX_BODY_BYTES: { schema: int(1, 100 * 1024 * 1024).default(1024 * 1024) },
  /** The media proxy's size cap per response. */
  MEDIA_MAX_BYTES: { schema: int(1, 2 ** 40).default(50 * 1024 * 1024) },
  INSTANCE_ID: {
    schema: z
      .string()
      .regex(/^[\w.-]{1,64}$/)
      .optional(),
  },
  LOG_LEVEL: { schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') },
  SIM_TOKEN: { schema: z.string().min(1).optional(), secret: true },
  SIM_MAX_JOBS: { schema: int(1, 10_000).default(3) },
  NODE_ENV: { schema: z.string().optional() },
  GATEWAY_OPEN: { schema: bool.default(false) },
  SIMULATOR: { schema: bool.default(false) },
  GATEWAY_API_KEYS: {
    schema: list(z.string().regex(KEY), '16-256 printable characters without spaces').default([]),
    secret: true,
  },
  /** Publisher keys by namespace: `POST /v1/jobs/<namespace>/<id>/events` (docs/publish.md). */
  PUBLISHERS: {
    schema: publishers.default([]),
    secret: true,
    secretsOf: (entries: readonly { key: string }[]) => entries.map((entry) => entry.key),
  } satisfies Variable<{ namespace: string; key: string }[]>,
  PUBLISH_MAX_EVENT_BYTES: { schema: int(16, 16 * 1024 * 1024).default(64 * 1024) },
  PUBLISH_MAX_EVENTS: { schema: int(1, 100_000).default(1000) },
  PUBLISH_RATE_PER_S: { schema: int(0, 1_000_000).default(50) },
  SUBSCRIBE_TOKEN_SECRET: {
    schema: z
      .string()
      .refine((s) => bytes(s) >= 32, 'must be at least 32 bytes')
      .optional(),
    secret: true,
  },
  SUBSCRIBE_TOKEN_TTL_S: { schema: int(10, 7 * 86_400).default(3600) },
  SUBSCRIBE_PUBLIC: { schema: bool.default(false) },
  CORS_ORIGINS: {
    schema: list(origin, 'an origin like https://app.example.com (scheme, host, optional port; no path)').default([]),
  },
  ALLOW_REPLY_URL: { schema: bool.default(false) },
  MAX_PROMPT_CHARS: { schema: int(1, 1_000_000).default(5000) },
  CREATE_RATE_PER_MIN: { schema: int(0, 1_000_000).default(60) },
  MAX_SUBSCRIBERS: { schema: int(0, 10_000_000).default(10_000) },
  MAX_SUBSCRIBERS_PER_IP: { schema: int(0, 10_000_000).default(100) },
  MAX_REPLAY_EVENTS: { schema: int(1, 1_000_000).default(1000) },
  MAX_STREAM_JOBS: { schema: int(1, 500).default(100) },
  TRUST_PROXY: { schema: bool.default(false) },
  /** Node, plain HTTP, one process: accept connections and read stream requests in the native edge (native/edge.c) when it is built. */
  NATIVE_EDGE: { schema: bool.default(true) },
  /** The native edge's writes of a turn go to the kernel in one io_uring submission (where the kernel allows it), not one send() each. */
  NATIVE_EDGE_IO_URING: { schema: bool.default(true) },
  /** Gateway processes sharing the port (Node): a count, or `auto` for one per core. */
  WORKERS: {
    schema: z
      .string()
      .regex(/^(auto|[1-9]\d{0,2})$/, 'must be auto or a count from 1 to 999')
      .transform((v): number | 'auto' => (v === 'auto' ? 'auto' : Number(v)))
      .default(1),
  },
  CREATE_QUEUE_MAX: { schema: int(0, 1_000_000).default(0) },
  CREATE_QUEUE_POLL_MS: { schema: int(10, 3_600_000).default(1000) },
  CREATE_QUEUE_MAX_WAIT_MS: { schema: int(1000, 86_400_000).default(600_000) },
  /** Node: with TLS_KEY_FILE, HTTP/2 over TLS (HTTP/1.1 for clients without h2). */
  TLS_CERT_FILE: { schema: z.string().min(1).optional() },
  TLS_KEY_FILE: { schema: z.string().min(1).optional() },
} satisfies Variables;

/** The name of one of the gateway's own variables. */
export type GatewayVariableName = keyof typeof GATEWAY_VARIABLES;

/** The gateway's own validated variables (a loaded configuration also holds the profiles'). */
export type Config = Omit<ValuesOf<typeof GATEWAY_VARIABLES>, 'HOST'> & { HOST: string };

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

const present = (env: Record<string, string | undefined>) =>
  Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));

/** "A, B or C". */
const oneOf = (names: readonly string[]) => (names.length < 2 ? names.join('') : `${names.slice(0, -1).join(', ')} or ${names.at(-1)}`);

/**
 * What `--dev` (`npm start`) asks for: an open gateway when no API keys are set, the built-in
 * simulator when no profile's credential is. Explicit values in `env` win; with NODE_ENV naming
 * production it asks for nothing (production gets neither by default).
 */
export function withDevDefaults(
  env: Record<string, string | undefined>,
  profiles: readonly ProfileVariables[],
): Record<string, string | undefined> {
  if (isProduction(env.NODE_ENV)) return env;
  const set = (name: string) => (env[name] ?? '') !== '';
  return {
    ...(set('GATEWAY_API_KEYS') ? {} : { GATEWAY_OPEN: 'true' }),
    ...(profiles.some((profile) => set(profile.credential)) ? {} : { SIMULATOR: 'true' }),
    ...present(env),
  };
}

type Parsed = ValuesOf<typeof GATEWAY_VARIABLES> & Readonly<Record<string, unknown>>;

/**
 * The mode rule, shared by Node and the Worker: running without API keys (open) and running
 * against the in-process simulator are things an operator asks for (GATEWAY_OPEN=true,
 * SIMULATOR=true), never fallbacks; production never runs open. A profile is configured by its
 * credential; its base URL alone is a mistake.
 */
function modeProblems(config: Parsed, profiles: readonly ProfileVariables[]): string[] {
  const production = isProduction(config.NODE_ENV);
  const keys = config.GATEWAY_API_KEYS.length > 0;
  const credentials = profiles.map((profile) => profile.credential);
  const configured = credentials.filter((name) => config[name] !== undefined);
  const problems: string[] = [];
  if (!keys && !config.GATEWAY_OPEN) {
    problems.push(
      'GATEWAY_API_KEYS: required; to run without access control (development only: anyone who can reach the gateway starts jobs with your token) set GATEWAY_OPEN=true, as `npm start` does',
    );
  }
  if (keys && config.GATEWAY_OPEN) problems.push('GATEWAY_OPEN: cannot be combined with GATEWAY_API_KEYS');
  if (config.PUBLISHERS.some((entry) => config.GATEWAY_API_KEYS.includes(entry.key))) {
    problems.push('PUBLISHERS: a publisher key must differ from every API key');
  }
  if (production && config.GATEWAY_OPEN) problems.push('GATEWAY_OPEN: not allowed when NODE_ENV is production; set GATEWAY_API_KEYS');
  if (production && keys && config.SUBSCRIBE_TOKEN_SECRET === undefined) {
    problems.push('SUBSCRIBE_TOKEN_SECRET: required (at least 32 bytes) when NODE_ENV is production');
  }
  if (configured.length === 0 && !config.SIMULATOR) {
    const urls = profiles.map((profile) => profile.baseUrl).join(', ');
    problems.push(
      `${credentials.join(', ') || 'SIMULATOR'}: no upstream configured; set a profile's credential (${oneOf(credentials)}, each with its optional base URL: ${urls}), or SIMULATOR=true for the built-in simulator, as \`npm start\` does`,
    );
  }
  if (configured.length > 0 && config.SIMULATOR) {
    problems.push(`SIMULATOR: cannot be combined with an upstream credential (${configured.join(', ')} set)`);
  }
  if ((config.TLS_CERT_FILE === undefined) !== (config.TLS_KEY_FILE === undefined))
    problems.push('TLS_CERT_FILE, TLS_KEY_FILE: set both (HTTP/2 over TLS) or neither');
  problems.push(...redisProblems(config));
  for (const { credential, baseUrl } of profiles) {
    if (config[baseUrl] !== undefined && config[credential] === undefined) problems.push(`${credential}: required when ${baseUrl} is set`);
  }
  return problems;
}

/** One Redis or one Redis Cluster; the cluster's credentials and TLS only with it (one server takes them in REDIS_URL). */
function redisProblems(config: Parsed): string[] {
  const cluster = config.REDIS_CLUSTER_NODES !== undefined && config.REDIS_CLUSTER_NODES.length > 0;
  const problems: string[] = [];
  if (cluster && config.REDIS_URL !== undefined) problems.push('REDIS_CLUSTER_NODES: cannot be combined with REDIS_URL (set one)');
  for (const name of ['REDIS_USERNAME', 'REDIS_PASSWORD'] as const) {
    if (config[name] !== undefined && !cluster)
      problems.push(`${name}: only with REDIS_CLUSTER_NODES (for one server, put it in REDIS_URL)`);
  }
  if (config.REDIS_TLS && !cluster) problems.push('REDIS_TLS: only with REDIS_CLUSTER_NODES (for one server, use a rediss:// REDIS_URL)');
  return problems;
}

/** Every declared variable: the gateway's own, then each profile's; a name declared twice is a programming error. */
function allVariables(profiles: readonly ProfileVariables[]): Map<string, Variable> {
  const all = new Map<string, Variable>(Object.entries(GATEWAY_VARIABLES));
  for (const profile of profiles) {
    for (const [name, variable] of Object.entries(profile.variables)) {
      if (all.has(name)) throw new Error(`variable ${name} is declared twice`);
      all.set(name, name === profile.credential ? { ...variable, secret: true } : variable);
    }
    for (const role of [profile.credential, profile.baseUrl]) {
      if (!(role in profile.variables)) throw new Error(`variable ${role} is named by a profile but not declared`);
    }
  }
  return all;
}

const schemas = new WeakMap<readonly ProfileVariables[], z.ZodType<Parsed>>();

/** The one schema of the gateway's and the profiles' variables (built once per declaration list). */
function schemaOf(profiles: readonly ProfileVariables[]): z.ZodType<Parsed> {
  let schema = schemas.get(profiles);
  if (!schema) {
    const shape = Object.fromEntries([...allVariables(profiles)].map(([name, variable]) => [name, variable.schema]));
    schema = z.object(shape) as unknown as z.ZodType<Parsed>;
    schemas.set(profiles, schema);
  }
  return schema;
}

/** Parses environment variables, the gateway's and the given profiles'; throws ConfigError naming each invalid variable (never its value). */
export function loadConfig<P extends ProfileVariables>(
  env: Record<string, string | undefined>,
  profiles: readonly P[],
): Config & ProfileValues<P> {
  const result = schemaOf(profiles).safeParse(present(env));
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  const config = result.data;
  const problems = modeProblems(config, profiles);
  if (problems.length > 0) throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  // Open mode listens on loopback only unless told otherwise (a Dockerfile sets HOST=0.0.0.0).
  const host = config.HOST ?? (config.GATEWAY_OPEN ? '127.0.0.1' : '0.0.0.0');
  return { ...config, HOST: host } as Config & ProfileValues<P>;
}

/** Every configured secret, the gateway's and the profiles', for the redactor: none of these may appear in a response or log line. */
export function configSecrets(config: Config, profiles: readonly ProfileVariables[]): string[] {
  const values = config as unknown as Readonly<Record<string, unknown>>;
  return [...allVariables(profiles)]
    .filter(([, variable]) => variable.secret)
    .flatMap(([name, variable]) => {
      const value = values[name];
      if (variable.secretsOf && value !== undefined) return variable.secretsOf(value);
      return Array.isArray(value) ? value : [value];
    })
    .filter((value): value is string => typeof value === 'string' && value !== '');
}

/** A variable as documentation lists it. */
export interface VariableInfo {
  name: string;
  /** What an unset variable means, as an operator would write it; undefined: unset (nothing). */
  default: string | undefined;
  secret: boolean;
}

/** Every variable, the gateway's then each profile's, with its default and whether it is a secret (for the configuration docs and their test). */
export function configVariables(profiles: readonly ProfileVariables[]): VariableInfo[] {
  const vendorUrls = new Map(profiles.map((profile) => [profile.baseUrl, profile.vendorUrl]));
  return [...allVariables(profiles)].map(([name, variable]) => ({
    name,
    default: variable.default ?? vendorUrls.get(name) ?? defaultOf(variable.schema),
    secret: variable.secret === true,
  }));
}

/** The schema's default as a raw value (a list: comma-separated; an empty one: undefined). */
function defaultOf(schema: z.ZodType): string | undefined {
  const parsed = schema.safeParse(undefined);
  if (!parsed.success || parsed.data === undefined) return undefined;
  const value: unknown = parsed.data;
  if (Array.isArray(value)) return value.length > 0 ? value.join(',') : undefined;
  return String(value);
}
