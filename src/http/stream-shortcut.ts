import { isValidJobId } from '../core/ingest/job-id.ts';
import type { Logger } from '../core/logger.ts';
import { type AppProfile, UNIFORM_STREAM_ROUTE } from './app.ts';
import { logRequest, requestIdOf } from './access-log.ts';
import { type RequestView, checkJobsAccess } from './auth.ts';
import type { HttpCounters } from './http-counters.ts';
import type { GuardedRequest } from './open-mode.ts';
import type { Security } from './security.ts';
import { resumePoint } from './subscription-response.ts';
import type { Subscriptions } from './subscriptions.ts';

/** One route served here: its pattern's segments (`:profile`, `:jobid` or literal), and the profile when the pattern has none. */
interface Route {
  pattern: string;
  segments: readonly string[];
  profile: string | undefined;
}

/** An encoded job id: a job id's one character that `encodeURIComponent` escapes is `:`. Other escapes go to the app. */
const ESCAPED_COLON = /%3a/gi;

/** The profile and job id `path` names on `route`, if it is one of its paths. */
function matchRoute(route: Route, parts: readonly string[]): { profile: string; jobId: string } | undefined {
  const { segments } = route;
  if (parts.length !== segments.length) return undefined;
  let profile = route.profile;
  let jobId: string | undefined;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] as string;
    const part = parts[i] as string;
    if (segment === ':profile') profile = part;
    else if (segment === ':jobid') jobId = part.includes('%') ? part.replace(ESCAPED_COLON, ':') : part;
    else if (segment !== part) return undefined;
  }
  if (profile === undefined || jobId === undefined || jobId.includes('%')) return undefined;
  return { profile, jobId };
}

/** A `GET` of a job's uniform stream as a runtime read it off the connection itself, without the app. */
export interface DirectRequest extends RequestView, GuardedRequest {
  /** The path, without the query, as sent: only a job id's `:` may be percent-encoded (any other escape goes to the app). */
  path: string;
  /** The caller's address as the app's limits see it (X-Forwarded-For with TRUST_PROXY). */
  clientIp(): string;
}

export interface StreamShortcutDeps<Ctx> {
  /** The app's profiles: their jobs' uniform route, and each one's own stream routes (AppProfile.streamRoutes). */
  profiles: readonly AppProfile[];
  /** Publisher namespaces, whose jobs' streams are on the uniform route too. */
  namespaces: Iterable<string>;
  security: Security;
  subscriptions: Pick<Subscriptions<Ctx>, 'open'>;
  logger: Logger;
  counters?: HttpCounters;
  /** What `subscriptions.open` answers when the runtime's sink took the connection (the stream is out). */
  sent: Response;
}

/**
 * The uniform subscribe route (`GET /v1/jobs/<profile>/<id>/stream`) without the app around it,
 * for a runtime that reads stream requests off the connection itself (Node, where a new
 * subscriber through node:http and Hono costs several times what its stream does). It serves
 * only what it can answer exactly as the app would: every check passes (the open-mode guard,
 * access, the resume point, a subscriber slot) and the job is live. Then the head goes out with
 * the same headers, the access-log line and the request count are the app's, and true comes
 * back. Anything else (a refusal, a finished job, an error) answers false having kept nothing,
 * and the runtime hands the same request to the app, which answers it in full.
 */
export function createStreamShortcut<Ctx>(deps: StreamShortcutDeps<Ctx>): (req: DirectRequest, context: Ctx) => Promise<boolean> {
  const { security, subscriptions, logger, counters, sent } = deps;
  const streams = new Set([...deps.profiles.map((entry) => entry.relay.profile.name), ...deps.namespaces]);
  const route = (pattern: string, profile?: string): Route => ({ pattern, segments: pattern.split('/'), profile });
  const routes = [
    route(UNIFORM_STREAM_ROUTE),
    ...deps.profiles.flatMap((entry) => (entry.streamRoutes ?? []).map((pattern) => route(pattern, entry.relay.profile.name))),
  ];
  return async (req, context) => {
    const start = performance.now();
    const path = req.path;
    const parts = path.split('/');
    let served: Route | undefined;
    let job: { profile: string; jobId: string } | undefined;
    for (const candidate of routes) {
      job = matchRoute(candidate, parts);
      if (job) {
        served = candidate;
        break;
      }
    }
    if (!served || !job || !streams.has(job.profile) || !isValidJobId(job.jobId)) return false;
    if (security.refusal(req) !== undefined) return false;
    let since: number;
    let release: () => void;
    const ip = req.clientIp();
    try {
      await checkJobsAccess(security, req, [job]);
      since = resumePoint(req.header('Last-Event-ID'), req.query('since'));
      release = security.subscribers.acquire(ip);
    } catch {
      return false;
    }
    const reqId = requestIdOf(req.header('X-Request-Id'));
    // Built up, not spread: an object spread with more keys after it gets a hidden class of its own each time (slow, and kept).
    const headers = security.cors.headersFor(req.header('Origin'));
    headers['X-Request-Id'] = reqId;
    let response: Response;
    try {
      response = await subscriptions.open(job, since, { headers, onClose: release, context });
    } catch {
      release();
      return false;
    }
    if (response !== sent) {
      // A finished job (its 204, slot already freed) or a stream the runtime did not take: the app answers instead.
      await response.body?.cancel();
      release();
      return false;
    }
    counters?.count(served.pattern, 'GET', 200);
    logRequest(logger, reqId, 'GET', path, 200, start, ip);
    return true;
  };
}
