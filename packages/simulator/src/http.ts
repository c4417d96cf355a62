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

/** The token of an `Authorization: Bearer <token>` header, or undefined when there is none or it is empty. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S.*)$/i.exec(header ?? '');
  return match?.[1]?.trim() || undefined;
}

/** Bearer check: 401 when the header is missing or empty, or differs from `token` when one is configured. */
export function bearerAuth(token?: string): MiddlewareHandler<SimEnv> {
  return async (c, next) => {
    const sent = bearerToken(c.req.header('authorization'));
    if (!sent || (token !== undefined && sent !== token)) return errorResponse(401, 'Unauthorized');
    c.set('token', sent);
    await next();
  };
}
