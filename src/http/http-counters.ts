import type { Context, MiddlewareHandler } from 'hono';
import { matchedRoutes, routePath } from 'hono/route';
import type { ErrorCode } from '../core/errors.ts';

/** Requests answered with one route pattern, method and status, and how many. */
export interface RequestCount {
  route: string;
  method: string;
  status: number;
  count: number;
}

/** What the app counts per request (a runtime exports it: Prometheus on Node); a lookup per request, none per event. */
export interface HttpCounters {
  /** Requests answered, by route pattern (never the path: it holds job ids), method and status. */
  requests(): Iterable<RequestCount>;
  /** Requests the gateway refused itself (a RelayError it answered), by its code. */
  rejections(): Iterable<[ErrorCode, number]>;
  /** Counts one request once its response is ready (for a stream: when its head goes out). */
  middleware: MiddlewareHandler;
  /** Counts one refusal (the app's error handler calls it). */
  rejected(code: ErrorCode): void;
  /** Counts one request answered outside Hono (the Node edge's stream shortcut), as the middleware would. */
  count(route: string, method: string, status: number): void;
}

/** The route label of a request no route matched (its path is never a label: anyone can make up paths). */
export const UNMATCHED_ROUTE = 'unmatched';

const appWide = (path: string) => path === '' || path === '*' || path === '/*';

/**
 * The pattern of the route that answered; when an app-wide middleware answered (a refusal before
 * routing, or no route at all), the first route that matched the request, else `unmatched`.
 */
function routeOf(c: Context): string {
  const answered = routePath(c);
  if (!appWide(answered)) return answered;
  return matchedRoutes(c).find((route) => !appWide(route.path))?.path ?? UNMATCHED_ROUTE;
}

/** Methods counted by name; any other is counted as `other`. */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** Codes that are the upstream's answer or a bug, not a refusal of the gateway's. */
const NOT_REJECTIONS: ReadonlySet<ErrorCode> = new Set(['upstream_rejected', 'upstream_error', 'internal']);

export function createHttpCounters(): HttpCounters {
  const requests = new Map<string, RequestCount>();
  const rejections = new Map<ErrorCode, number>();
  function count(route: string, requestMethod: string, status: number): void {
    const method = METHODS.has(requestMethod) ? requestMethod : 'other';
    const key = `${method} ${status} ${route}`;
    const entry = requests.get(key);
    if (entry) entry.count++;
    else requests.set(key, { route, method, status, count: 1 });
  }
  return {
    requests: () => requests.values(),
    rejections: () => rejections.entries(),
    async middleware(c, next) {
      await next();
      count(routeOf(c), c.req.method, c.res.status);
    },
    count,
    rejected(code) {
      if (NOT_REJECTIONS.has(code)) return;
      rejections.set(code, (rejections.get(code) ?? 0) + 1);
    },
  };
}
