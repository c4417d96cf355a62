/**
 * The media proxy's fetch, runtime-neutral: one of a job's media URLs, fetched hop by hop (each
 * redirect followed by hand and checked again), streamed back with caching headers under a size
 * cap. The runtime supplies one hop (`MediaHop`), which refuses private addresses as it can.
 */
import { RelayError } from '../core/errors.ts';
import { type MediaSource, credentialFor, mediaUrlAllowed, parseUrl } from '../core/media/media.ts';

/** One request to a media host, redirects not followed; throws a RelayError when its address is refused. */
export type MediaHop = (
  url: URL,
  init: { method: 'GET' | 'HEAD'; headers: Record<string, string>; signal: AbortSignal },
) => Promise<Response>;

export interface MediaProxyOptions {
  hop: MediaHop;
  /** MEDIA_MAX_BYTES: larger media are refused (announced) or cut off (found out while streaming). */
  maxBytes: number;
  /** Most redirects followed (default 5). */
  maxRedirects?: number;
}

/** What the client asked: HEAD or GET, and its conditional header. */
export interface MediaRequest {
  method: 'GET' | 'HEAD';
  ifNoneMatch?: string | undefined;
  /** Aborts when the client leaves. */
  signal: AbortSignal;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** Results never change under their URL: a browser keeps them; shared caches do not (access is per key or token). */
export const MEDIA_CACHE_CONTROL = 'private, max-age=31536000, immutable';
/** Served from the gateway's origin, the bytes must never run as a page there. */
const SAFE_HEADERS = { 'X-Content-Type-Options': 'nosniff', 'Content-Security-Policy': "default-src 'none'; sandbox" };
/** Media types passed through; anything else is served as bytes to download. */
const MEDIA_TYPE = /^(image|video|audio)\/[\w.+-]+$/i;

/** Fetches `url` for `source`'s job and answers it to the client (see the module comment). */
export async function proxyMedia(source: MediaSource, url: string, request: MediaRequest, options: MediaProxyOptions): Promise<Response> {
  const maxRedirects = options.maxRedirects ?? 5;
  let target = new URL(url);
  for (let hop = 0; ; hop++) {
    if (!mediaUrlAllowed(source, target)) throw new RelayError('forbidden', `media host not allowed for this profile: ${target.host}`);
    const headers: Record<string, string> = { Accept: 'image/*,video/*,audio/*;q=0.9,*/*;q=0.5', ...credentialFor(source, target) };
    if (request.ifNoneMatch) headers['If-None-Match'] = request.ifNoneMatch;
    const response = await options.hop(target, { method: request.method, headers, signal: request.signal });
    if (!REDIRECTS.has(response.status)) return answer(response, options.maxBytes);
    await response.body?.cancel();
    const location = response.headers.get('Location');
    const next = location ? parseUrl(location, target) : null;
    if (!next) throw new RelayError('upstream_error', `media host answered ${response.status} without a usable Location`);
    if (next.host !== target.host || (target.protocol === 'https:' && next.protocol !== 'https:'))
      throw new RelayError('forbidden', `media host redirected to another host (${next.host}); not followed`);
    if (hop >= maxRedirects) throw new RelayError('upstream_error', `media host redirected more than ${maxRedirects} times`);
    target = next;
  }
}

/** The client's answer: the upstream's status when usable, its length, type and validators, our caching, the cap. */
async function answer(response: Response, maxBytes: number): Promise<Response> {
  const { status } = response;
  if (status !== 200 && status !== 304) {
    await response.body?.cancel();
    if (status === 404 || status === 410) throw new RelayError('not_found', `media no longer available upstream (${status})`);
    throw new RelayError('upstream_error', `media host answered ${status}`);
  }
  const length = response.headers.get('Content-Length');
  const size = length !== null && /^\d+$/.test(length) ? Number(length) : undefined;
  if (size !== undefined && size > maxBytes) {
    await response.body?.cancel();
    throw new RelayError('upstream_error', `media is ${size} bytes, more than MEDIA_MAX_BYTES (${maxBytes})`);
  }
  const headers = new Headers({ ...SAFE_HEADERS, 'Cache-Control': MEDIA_CACHE_CONTROL });
  for (const name of ['ETag', 'Last-Modified']) {
    const value = response.headers.get(name);
    if (value !== null) headers.set(name, value);
  }
  if (status === 304) {
    await response.body?.cancel();
    return new Response(null, { status, headers });
  }
  const type = response.headers.get('Content-Type')?.split(';')[0]?.trim() ?? '';
  if (MEDIA_TYPE.test(type)) headers.set('Content-Type', type);
  else {
    headers.set('Content-Type', 'application/octet-stream');
    headers.set('Content-Disposition', 'attachment');
  }
  if (size !== undefined) headers.set('Content-Length', String(size));
  if (!response.body) return new Response(null, { status, headers });
  // An announced length (checked above) is what HTTP delivers, no more: the body passes as it is,
  // so the runtime sends that length (workerd drops it for a transformed stream).
  if (size !== undefined) return new Response(response.body, { status, headers });
  return new Response(response.body.pipeThrough(capped(maxBytes)), { status, headers });
}

/** Passes at most `maxBytes`; past that the stream errors, so the client sees a broken transfer that no cache keeps. */
function capped(maxBytes: number): TransformStream<Uint8Array, Uint8Array> {
  let sent = 0;
  return new TransformStream({
    transform(chunk, controller) {
      sent += chunk.byteLength;
      if (sent > maxBytes) controller.error(new RelayError('upstream_error', `media exceeds MEDIA_MAX_BYTES (${maxBytes})`));
      else controller.enqueue(chunk);
    },
  });
}
