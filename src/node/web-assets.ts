/** The browser files shipped in the package's `web/` folder, read once at start-up for the Node gateway. */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StaticAsset, StaticAssets } from '../http/browser-routes.ts';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.ts': 'application/typescript; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/**
 * The page's own rules: scripts, styles, images, streams and the shared worker from this origin
 * only (images come through the media proxy), never framed, no forms posted anywhere.
 */
export const PAGE_CSP =
  "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** `web/` beside `src/` (from src/node when run by tsx, from dist/ when bundled), or undefined when the package has none. */
export function webFolder(): string | undefined {
  const candidates = ['../../web/', '../web/'].map((relative) => fileURLToPath(new URL(relative, import.meta.url)));
  return candidates.find((folder) => existsSync(join(folder, 'client.js')));
}

/** Every file of `folder` (not those starting with `_` or `.`: the Worker's `_headers`) by URL path, `index.html` also at `/`. */
export function loadWebAssets(folder: string | undefined = webFolder()): StaticAssets {
  const assets = new Map<string, StaticAsset>();
  if (!folder) return assets;
  for (const name of readdirSync(folder)) {
    const type = TYPES[extname(name)];
    if (!type || name.startsWith('_') || name.startsWith('.')) continue;
    const body = new Uint8Array(readFileSync(join(folder, name)));
    const headers: Record<string, string> = {
      'Content-Type': type,
      ETag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
      'Cache-Control': 'no-cache',
      'X-Content-Type-Options': 'nosniff',
    };
    if (name.endsWith('.html')) Object.assign(headers, { 'Content-Security-Policy': PAGE_CSP, 'Referrer-Policy': 'no-referrer' });
    // Deno and other TypeScript runtimes find the module's types by this header.
    if (name === 'client.js') headers['X-TypeScript-Types'] = '/client.d.ts';
    // The client is public code: any page may import it (a module is fetched with CORS); its streams keep their own CORS rules.
    if (name.startsWith('client')) headers['Access-Control-Allow-Origin'] = '*';
    const asset = { body, headers };
    assets.set(`/${name}`, asset);
    if (name === 'index.html') assets.set('/', asset);
  }
  return assets;
}
