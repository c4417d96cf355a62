import { RelayError } from '../core/errors.ts';
import { ipLiteral, isPublicAddress } from '../core/media/addresses.ts';
import type { MediaHop } from '../http/media-proxy.ts';
import type { MediaDeps } from '../http/media-route.ts';
import type { ProfileEntry } from '../profiles/index.ts';
import { mediaSources } from '../profiles/media.ts';
import type { WorkerConfig } from './config.ts';

/**
 * One media request on Workers (see MediaHop): `fetch` with redirects handed back, not followed.
 * A Worker cannot resolve a name before connecting, so only a literal private address is refused
 * here; Cloudflare's network does not route a Worker's fetch into private address space.
 */
export function workerMediaHop(exemptOrigins: readonly string[]): MediaHop {
  return async (url, { method, headers, signal }) => {
    if (!exemptOrigins.includes(url.origin) && ipLiteral(url.hostname) && !isPublicAddress(url.hostname))
      throw new RelayError('forbidden', 'media host resolves to a private or reserved address; not fetched');
    try {
      return await fetch(url, { method, headers, signal, redirect: 'manual' });
    } catch (err) {
      throw new RelayError('upstream_error', 'media host unreachable', { cause: err });
    }
  };
}

/**
 * The Worker's media proxy. In development (GATEWAY_OPEN=true, as `npm run dev:worker` runs) a
 * profile whose base URL is a stand-in (the simulator on loopback) also has that origin's media,
 * as the Node gateway has its in-process simulator's.
 */
export function workerMedia(config: WorkerConfig, served: readonly ProfileEntry[]): MediaDeps {
  const endpoints = served.flatMap((entry) => {
    const endpoint = entry.endpoint(config);
    return endpoint ? [{ entry, endpoint }] : [];
  });
  const standIns = config.GATEWAY_OPEN
    ? endpoints
        .filter(({ entry, endpoint }) => endpoint.baseUrl !== entry.variables.vendorUrl)
        .map(({ endpoint }) => new URL(endpoint.baseUrl).origin)
    : [];
  return { sources: mediaSources(endpoints, standIns), hop: workerMediaHop(standIns), maxBytes: config.MEDIA_MAX_BYTES };
}
