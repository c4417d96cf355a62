import type { MiddlewareHandler } from 'hono';

const ALLOW_METHODS = 'GET, POST, DELETE, OPTIONS';
const ALLOW_HEADERS = 'Authorization, Content-Type, Last-Event-ID, Cache-Control';
const EXPOSE_HEADERS = 'X-Job-Id, X-Subscribe-Token, Retry-After';

/** CORS with an exact origin allowlist: the middleware, and the headers for one response. */
export interface Cors {
  middleware: MiddlewareHandler;
  /**
   * Headers an actual response to `origin` carries. SSE responses get them up front too, since
   * a runtime may write a stream's headers itself, before the middleware sees the response.
   */
  headersFor(origin: string | undefined): Record<string, string>;
}

/**
 * Allowed origins get their own origin back and credentials (cookies for EventSource
 * `withCredentials`); others get no CORS headers and a 403 on preflight. Never `*`.
 */
export function corsAllowlist(origins: readonly string[]): Cors {
  const allowed = new Set(origins);
  const isAllowed = (origin: string | undefined): origin is string => origin !== undefined && allowed.has(origin);

  function headersFor(origin: string | undefined): Record<string, string> {
    if (!isAllowed(origin)) return { Vary: 'Origin' };
    return {
      'Access-Control-Allow-Origin': origin,
      'Access-Control-Allow-Credentials': 'true',
      'Access-Control-Expose-Headers': EXPOSE_HEADERS,
      Vary: 'Origin',
    };
  }

  const middleware: MiddlewareHandler = async (c, next) => {
    const origin = c.req.header('Origin');
    if (c.req.method === 'OPTIONS' && c.req.header('Access-Control-Request-Method') !== undefined) {
      if (!isAllowed(origin)) return c.json({ error: 'origin not allowed', code: 'forbidden' }, 403, { Vary: 'Origin' });
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
    const headers = Object.entries(headersFor(origin));
    try {
      for (const [name, value] of headers) c.res.headers.set(name, value);
    } catch {
      // A response passed through from elsewhere can have immutable headers: copy it.
      c.res = new Response(c.res.body, c.res);
      for (const [name, value] of headers) c.res.headers.set(name, value);
    }
  };

  return { middleware, headersFor };
}
