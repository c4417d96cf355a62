/**
 * What the gateway serves to browsers besides the API: the static files of `web/` (the dashboard
 * at `/`, the client at `/client.js` with its types) when the runtime hands them in, and
 * `GET /v1/profiles`, which tells the dashboard what it may offer (the profiles served, and
 * whether creating a job needs a key this page never holds).
 */
import type { Hono } from 'hono';
import type { Security } from './security.ts';

/** One static file as served: its bytes, type and headers. */
export interface StaticAsset {
  body: Uint8Array;
  /** Headers besides the length (Content-Type, ETag, caching, CSP for pages). */
  headers: Record<string, string>;
}

/** Static files by URL path (`/`, `/client.js`, …). */
export type StaticAssets = ReadonlyMap<string, StaticAsset>;

/** Mounts the static files (GET and HEAD, `If-None-Match` answered 304) and `GET /v1/profiles`. */
export function mountBrowserRoutes(app: Hono, options: { assets?: StaticAssets | undefined; security: Security }): void {
  const { assets, security } = options;
  app.get('/v1/profiles', (c) => c.json({ profiles: security.profiles, open: !security.apiKeys.enabled }));
  for (const [path, asset] of assets ?? []) {
    app.get(path, (c) => {
      const etag = asset.headers.ETag;
      if (etag !== undefined && c.req.header('If-None-Match') === etag) return c.body(null, 304, { ETag: etag });
      return c.body(asset.body as Uint8Array<ArrayBuffer>, 200, asset.headers);
    });
  }
}
