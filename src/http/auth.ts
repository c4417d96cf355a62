import type { Context } from 'hono';
import { parse as parseCookies } from 'hono/utils/cookie';
import { type JobRef, parseJobRef, qualifiedJobId } from '../core/auth/job-ref.ts';
import { RelayError } from '../core/errors.ts';
import type { Security } from './security.ts';

/** Cookie a same-site app may set to carry a subscribe token (EventSource `withCredentials`). */
export const TOKEN_COOKIE = 'sse_relay_token';

/** What the access checks read of a request: Hono's `c.req`, or a head the Node edge parsed itself (src/node/direct-streams.ts). */
export interface RequestView {
  header(name: string): string | undefined;
  query(name: string): string | undefined;
}

/** The credential in `Authorization: Bearer <x>`, or `Key <x>` as fal's clients send it. */
export function bearer(c: Context): string | undefined {
  return bearerOf(c.req);
}

function bearerOf(req: RequestView): string | undefined {
  const match = /^(?:Bearer|Key)[ \t]+(\S+)[ \t]*$/i.exec(req.header('Authorization') ?? '');
  return match?.[1];
}

function tokenCookie(req: RequestView): string | undefined {
  const cookies = req.header('Cookie');
  return cookies ? parseCookies(cookies, TOKEN_COOKIE)[TOKEN_COOKIE] : undefined;
}

/**
 * Requires a gateway API key in `Authorization: Bearer` (never from a cookie or the query, so a
 * third-party page cannot use it); returns the key's id, or undefined in open mode.
 */
export async function requireApiKey(security: Security, c: Context): Promise<string | undefined> {
  if (!security.apiKeys.enabled) return undefined;
  const presented = bearer(c);
  if (presented === undefined) throw new RelayError('unauthorized', 'an API key is required: Authorization: Bearer <key>');
  const keyId = await security.apiKeys.verify(presented);
  if (keyId === null) throw new RelayError('unauthorized', 'API key is not valid');
  return keyId;
}

/**
 * Allows minting subscribe tokens (`POST /v1/tokens`): an API key (in open mode, anyone), or a
 * publisher key; returns the publisher's namespace, whose jobs alone its tokens may name (see tokenScope).
 */
export async function requireTokenIssuer(security: Security, c: Context): Promise<string | undefined> {
  const presented = bearer(c);
  const namespace = presented === undefined ? null : await security.publishers.verify(presented);
  if (namespace !== null) return namespace;
  await requireApiKey(security, c);
  return undefined;
}

/** Throws 403 unless every job is of the publisher's namespace (undefined: an API key, any job). */
export function tokenScope(namespace: string | undefined, jobs: readonly JobRef[]): void {
  if (namespace !== undefined && jobs.some((job) => job.profile !== namespace)) {
    throw new RelayError('forbidden', `a publisher key mints tokens for jobs of its own namespace only (${namespace})`);
  }
}

/**
 * Allows reading one job: a subscribe token naming it (from `?token=`, `Authorization: Bearer`
 * or the cookie, first found wins) or an API key. Open deployments skip the check. A token
 * names `<profile>:<jobid>`; a bare id in it is a job of the first profile.
 */
export async function requireJobAccess(security: Security, c: Context, job: JobRef): Promise<void> {
  await requireJobsAccess(security, c, [job], () => 'this job');
}

/** Allows reading every one of `jobs` (as requireJobAccess): one token must name them all; the refusal names the first it does not. */
export async function requireJobsAccess(
  security: Security,
  c: Context,
  jobs: readonly JobRef[],
  describe: (job: JobRef) => string = (job) => `job ${job.profile}/${job.jobId}`,
): Promise<void> {
  await checkJobsAccess(security, c.req, jobs, describe);
}

/** requireJobsAccess on any request view. */
export async function checkJobsAccess(
  security: Security,
  req: RequestView,
  jobs: readonly JobRef[],
  describe: (job: JobRef) => string = (job) => `job ${job.profile}/${job.jobId}`,
): Promise<void> {
  if (!security.tokensRequired) return;
  const header = bearerOf(req);
  const token = req.query('token') || header || tokenCookie(req);
  if (!token) throw new RelayError('unauthorized', 'a subscribe token is required: ?token=, Authorization: Bearer or cookie');
  if (token === header && (await security.apiKeys.verify(token)) !== null) return;
  // A publisher reads its own namespace's jobs with its key, and no other job.
  const namespace = token === header ? await security.publishers.verify(token) : null;
  if (namespace !== null) {
    if (jobs.every((job) => job.profile === namespace)) return;
    throw new RelayError('forbidden', 'this publisher key is for another namespace');
  }
  const [fallback = ''] = security.profiles;
  const covered = new Set(
    (await security.tokens.verify(token)).map((entry) => qualifiedJobId(parseJobRef(entry, security.profiles, fallback))),
  );
  const missing = jobs.find((job) => !covered.has(qualifiedJobId(job)));
  if (missing) throw new RelayError('forbidden', `subscribe token does not cover ${describe(missing)}`);
}
