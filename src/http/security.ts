import type { Context, MiddlewareHandler } from 'hono';
import { type ApiKeyVerifier, createApiKeyVerifier } from '../core/auth/api-keys.ts';
import { type PublisherKeys, createPublisherKeys } from '../core/auth/publisher-keys.ts';
import { type SubscribeTokens, createSubscribeTokens, randomSecret } from '../core/auth/subscribe-token.ts';
import type { Config } from '../core/config.ts';
import type { Logger } from '../core/logger.ts';
import type { RelayError } from '../core/errors.ts';
import { type Cors, corsAllowlist } from './cors.ts';
import { type GuardedRequest, openModeCheck, openModeGuard } from './open-mode.ts';
import { type RateLimiter, type SubscriberLimits, createRateLimiter, createSubscriberLimits } from './limits.ts';

/** The configuration the security layer reads. */
export type SecurityConfig = Pick<
  Config,
  | 'GATEWAY_API_KEYS'
  | 'PUBLISHERS'
  | 'SUBSCRIBE_TOKEN_SECRET'
  | 'SUBSCRIBE_TOKEN_TTL_S'
  | 'SUBSCRIBE_PUBLIC'
  | 'CORS_ORIGINS'
  | 'ALLOW_REPLY_URL'
  | 'MAX_PROMPT_CHARS'
  | 'CREATE_RATE_PER_MIN'
  | 'MAX_SUBSCRIBERS'
  | 'MAX_SUBSCRIBERS_PER_IP'
  | 'MAX_REPLAY_EVENTS'
  | 'MAX_STREAM_JOBS'
>;

/** Access control and limits, built once per app; runtime-neutral (the Worker builds the same). */
export interface Security {
  apiKeys: ApiKeyVerifier;
  /** Publisher keys: each publishes to, mints tokens for and reads its own namespace, in open mode too. */
  publishers: PublisherKeys;
  tokens: SubscribeTokens;
  /** Reading a job (stream, GET) needs a subscribe token or an API key. */
  tokensRequired: boolean;
  tokenTtlS: number;
  allowReplyUrl: boolean;
  maxPromptChars: number;
  maxReplayEvents: number;
  /** Most jobs on one multiplexed stream (`GET /v1/stream`). */
  maxStreamJobs: number;
  createRate: RateLimiter;
  subscribers: SubscriberLimits;
  cors: Cors;
  /** Runs before every route: in open mode it refuses cross-site requests, non-JSON POSTs and foreign Host names. */
  guard: MiddlewareHandler;
  /** The guard's check on its own: the refusal a request gets (always none with API keys). */
  refusal(req: GuardedRequest): RelayError | undefined;
  /** The caller's address, for per-IP limits ('unknown' when the runtime cannot tell). */
  clientIp(c: Context): string;
  /** Names of the profiles served, then the publisher namespaces; the first is the one a bare job id in a token belongs to. */
  profiles: readonly string[];
}

export interface SecurityDeps {
  logger: Logger;
  /** Reads the client address from the runtime (Node socket, Workers header). */
  clientIp?: (c: Context) => string | undefined;
  /** The address the server listens on (Node's HOST); in open mode a loopback bind checks the Host header. */
  bindHost?: string;
  now?: () => number;
  /** Names of the profiles served, the default one (bare job ids in tokens) first. */
  profiles: readonly string[];
}

/** Builds the security layer from validated config; warns loudly about open or ephemeral settings. */
export function createSecurity(config: SecurityConfig, deps: SecurityDeps): Security {
  const { logger } = deps;
  const apiKeys = createApiKeyVerifier(config.GATEWAY_API_KEYS);
  if (!apiKeys.enabled) {
    logger.warn(
      {},
      'GATEWAY_OPEN=true: the gateway is OPEN (no API keys), anyone who can reach it can start jobs on the upstream account and read every job; cross-site requests are refused. Set GATEWAY_API_KEYS before exposing it.',
    );
  }
  let secret: Uint8Array;
  if (config.SUBSCRIBE_TOKEN_SECRET) {
    secret = new TextEncoder().encode(config.SUBSCRIBE_TOKEN_SECRET);
  } else {
    secret = randomSecret();
    logger.warn(
      {},
      'SUBSCRIBE_TOKEN_SECRET is not set: using a random secret; subscribe tokens will not survive a restart or work on other instances',
    );
  }
  const now = deps.now;
  const publishers = createPublisherKeys(config.PUBLISHERS);
  const openMode = openModeCheck({ allowedOrigins: config.CORS_ORIGINS, bindHost: deps.bindHost });
  return {
    apiKeys,
    publishers,
    tokens: createSubscribeTokens({
      secret,
      defaultTtlS: config.SUBSCRIBE_TOKEN_TTL_S,
      ...(now ? { now: () => Math.floor(now() / 1000) } : {}),
    }),
    tokensRequired: apiKeys.enabled && !config.SUBSCRIBE_PUBLIC,
    tokenTtlS: config.SUBSCRIBE_TOKEN_TTL_S,
    allowReplyUrl: config.ALLOW_REPLY_URL,
    maxPromptChars: config.MAX_PROMPT_CHARS,
    maxReplayEvents: config.MAX_REPLAY_EVENTS,
    maxStreamJobs: config.MAX_STREAM_JOBS,
    createRate: createRateLimiter({ perMinute: config.CREATE_RATE_PER_MIN, ...(now ? { now } : {}) }),
    subscribers: createSubscriberLimits({ max: config.MAX_SUBSCRIBERS, maxPerIp: config.MAX_SUBSCRIBERS_PER_IP }),
    cors: corsAllowlist(config.CORS_ORIGINS),
    guard: apiKeys.enabled
      ? async (_c, next) => {
          await next();
        }
      : openModeGuard(openMode),
    refusal: apiKeys.enabled ? () => undefined : openMode,
    profiles: [...deps.profiles, ...publishers.namespaces],
    clientIp(c) {
      try {
        return deps.clientIp?.(c) ?? 'unknown';
      } catch {
        return 'unknown';
      }
    },
  };
}
