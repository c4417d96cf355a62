import type { MiddlewareHandler } from 'hono';

/** Hono environment of the vendor routes: the bearer token the caller sent. */
export type SimEnv = { Variables: { token: string } };

/** The vendor's error shape, `{"error": "..."}`, with any status (596 included, which Hono's typed helpers reject). */
export function errorResponse(status: number, error: string): Response {
  return new Response(JSON.stringify({ error }), {
    status,
    headers: { 'Content-Type': 'application/json' },
  });
}

/** Bearer check: 401 when the header is missing or empty, or differs from `token` when one is configured. */
export function bearerAuth(token?: string): MiddlewareHandler<SimEnv> {
  return async (c, next) => {
    const match = /^Bearer\s+(\S.*)$/i.exec(c.req.header('authorization') ?? '');
    const sent = match?.[1]?.trim();
    if (!sent || (token !== undefined && sent !== token)) return errorResponse(401, 'Unauthorized');
    c.set('token', sent);
    await next();
  };
}
