import { type JWTPayload, SignJWT, errors, jwtVerify } from 'jose';
import { RelayError } from '../errors.ts';

/** The audience every subscribe token carries, so no other JWT signed with the secret passes. */
export const TOKEN_AUDIENCE = 'sse-relay';
/** Most job ids one token may name. */
export const MAX_TOKEN_JOBS = 100;

/** Job-scoped, expiring read access: what a browser holds instead of an API key. */
export interface SubscribeTokens {
  issue(jobIds: readonly string[], ttlS?: number): Promise<{ token: string; expiresAt: number }>;
  /** The job ids the token opens; throws RelayError `unauthorized` saying what is wrong. */
  verify(token: string): Promise<string[]>;
}

export interface SubscribeTokenOptions {
  /** HS256 key, at least 32 bytes. */
  secret: Uint8Array;
  defaultTtlS: number;
  /** Seconds since the epoch (tests move it). */
  now?: () => number;
}

/** HS256 JWTs (jose: Web Crypto, so Node and Workers alike) with claims `jobs`, `aud`, `iat`, `exp`. */
export function createSubscribeTokens(options: SubscribeTokenOptions): SubscribeTokens {
  if (options.secret.byteLength < 32) throw new Error('subscribe token secret must be at least 32 bytes');
  const now = options.now ?? (() => Math.floor(Date.now() / 1000));
  return {
    async issue(jobIds, ttlS = options.defaultTtlS) {
      const issuedAt = now();
      const expiresAt = issuedAt + ttlS;
      const token = await new SignJWT({ jobs: [...jobIds] })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setAudience(TOKEN_AUDIENCE)
        .setIssuedAt(issuedAt)
        .setExpirationTime(expiresAt)
        .sign(options.secret);
      return { token, expiresAt };
    },
    async verify(token) {
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, options.secret, {
          algorithms: ['HS256'],
          audience: TOKEN_AUDIENCE,
          requiredClaims: ['exp', 'iat'],
          currentDate: new Date(now() * 1000),
        }));
      } catch (err) {
        throw new RelayError('unauthorized', rejectionReason(err));
      }
      const jobs = payload.jobs;
      if (!Array.isArray(jobs) || !jobs.every((j) => typeof j === 'string')) {
        throw new RelayError('unauthorized', 'subscribe token names no jobs');
      }
      return jobs as string[];
    },
  };
}

function rejectionReason(err: unknown): string {
  if (err instanceof errors.JWTExpired) return 'subscribe token has expired';
  if (err instanceof errors.JOSEAlgNotAllowed) return 'subscribe token uses a signing algorithm that is not accepted (HS256 only)';
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'subscribe token signature is invalid';
  if (err instanceof errors.JWTClaimValidationFailed) return `subscribe token is not valid here (${err.claim} claim)`;
  return 'subscribe token is malformed';
}

/** A random HS256 secret (dev mode without SUBSCRIBE_TOKEN_SECRET: tokens die with the process). */
export function randomSecret(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(32));
}
