import { RelayError } from '../core/errors.ts';
import { ipLiteral, isPublicAddress } from '../core/media/addresses.ts';
import type { MediaHop } from '../http/media-proxy.ts';

/**
 * One media request on Workers (see MediaHop): `fetch` with redirects handed back, not followed.
 * A Worker cannot resolve a name before connecting, so only a literal private address is refused
 * here; Cloudflare's network does not route a Worker's fetch into private address space.
 */
export const workerMediaHop: MediaHop = async (url, { method, headers, signal }) => {
  if (ipLiteral(url.hostname) && !isPublicAddress(url.hostname))
    throw new RelayError('forbidden', 'media host is a private or reserved address; not fetched');
  try {
    return await fetch(url, { method, headers, signal, redirect: 'manual' });
  } catch (err) {
    throw new RelayError('upstream_error', 'media host unreachable', { cause: err });
  }
};
