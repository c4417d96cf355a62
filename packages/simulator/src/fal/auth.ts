import type { MiddlewareHandler } from 'hono';
import { detailResponse } from './errors.ts';

/** Hono environment of the queue routes: the key the caller sent. */
export type FalEnv = { Variables: { key: string } };

/** `Authorization: Key <key>`: 401 `{"detail":"Unauthorized"}` when missing or empty, or not `key` when one is configured. */
export function keyAuth(key?: string): MiddlewareHandler<FalEnv> {
  return async (c, next) => {
    const match = /^Key\s+(\S.*)$/i.exec(c.req.header('authorization') ?? '');
    const sent = match?.[1]?.trim();
    if (!sent || (key !== undefined && sent !== key)) return detailResponse(401, 'Unauthorized');
    c.set('key', sent);
    await next();
  };
}
