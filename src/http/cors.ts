import type { MiddlewareHandler } from 'hono';

const ALLOW_METHODS = 'GET, POST, DELETE, OPTIONS';
const ALLOW_HEADERS = 'Authorization, Content-Type, Last-Event-ID, Cache-Control';
const EXPOSE_HEADERS = 'X-Job-Id, X-Subscribe-Token, Retry-After';

/**
 * CORS with an exact origin allowlist: allowed origins get their own origin back and
 * credentials (cookies for EventSource `withCredentials`); others get no CORS headers and a
 * 403 on preflight. Never `*` with credentials.
 */
export function corsAllowlist(origins: readonly string[]): MiddlewareHandler {
  const allowed = new Set(origins);
  return async (c, next) => {
    const origin = c.req.header('Origin');
    const ok = origin !== undefined && allowed.has(origin);
    const preflight = c.req.method === 'OPTIONS' && c.req.header('Access-Control-Request-Method') !== undefined;
    if (preflight) {
      if (!ok) return c.json({ error: 'origin not allowed', code: 'forbidden' }, 403, { Vary: 'Origin' });
      return c.body(null, 204, {
        'Access-Control-Allow-Origin': origin,
        'Access-Control-Allow-Credentials': 'true',
        'Access-Control-Allow-Methods': ALLOW_METHODS,
        'Access-Control-Allow-Headers': ALLOW_HEADERS,
        'Access-Control-Max-Age': '600',
        Vary: 'Origin',
      });
    }
    await next();
    try {
      c.res.headers.append('Vary', 'Origin');
    } catch {
      // A response passed through from elsewhere can have immutable headers: copy it.
      c.res = new Response(c.res.body, c.res);
      c.res.headers.append('Vary', 'Origin');
    }
    const headers = c.res.headers;
    if (ok) {
      headers.set('Access-Control-Allow-Origin', origin);
      headers.set('Access-Control-Allow-Credentials', 'true');
      headers.set('Access-Control-Expose-Headers', EXPOSE_HEADERS);
    }
  };
}
