import type { Hono } from 'hono';
import { RelayError, errorDetail } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { type MediaSource, jobMedia } from '../core/media/media.ts';
import type { AppRelay } from './app.ts';
import { requireJobAccess } from './auth.ts';
import { type MediaProxyOptions, proxyMedia } from './media-proxy.ts';
import type { Security } from './security.ts';
import { checkJobId } from './validate.ts';

/** The media proxy as a runtime configures it: each served profile's media source, and how one hop is fetched. */
export interface MediaDeps extends MediaProxyOptions {
  /** By profile name; a profile without one has no media. */
  sources: ReadonlyMap<string, MediaSource>;
}

/** Largest media index accepted (a job names a handful). */
const MAX_INDEX_DIGITS = 4;

/**
 * `GET /v1/jobs/<profile>/<id>/media/<n>`: the n-th media URL of that job (counted from 0), with
 * the same access as the job's stream, fetched through the proxy. Only URLs the job's stored
 * events name are fetched: the client picks an index, never a URL.
 */
export function mountMediaRoute(
  app: Hono,
  relays: ReadonlyMap<string, AppRelay>,
  security: Security,
  media: MediaDeps,
  log: { logger: Logger; redact: (text: string) => string },
): void {
  app.get('/v1/jobs/:profile/:jobid/media/:n', async (c) => {
    const relay = relays.get(c.req.param('profile'));
    if (!relay) throw new RelayError('not_found', `unknown profile; expected one of ${[...relays.keys()].join(', ')}`);
    const profile = relay.profile.name;
    const jobId = checkJobId(c.req.param('jobid'));
    const raw = c.req.param('n');
    if (!new RegExp(`^\\d{1,${MAX_INDEX_DIGITS}}$`).test(raw))
      throw new RelayError('bad_request', 'media index must be an integer from 0 (the first media of the job)');
    await requireJobAccess(security, c, { profile, jobId });
    const source = media.sources.get(profile) ?? { media: undefined, origins: [] };
    let exists = true;
    const urls = await jobMedia(source.media, await relay.snapshot(jobId), async () => {
      const events = await relay.history(jobId);
      exists = events !== null;
      return events ?? [];
    });
    if (!exists) throw new RelayError('not_found', 'Job not found');
    const url = urls[Number(raw)];
    if (url === undefined) throw new RelayError('not_found', `no media #${raw}: this job names ${urls.length} media`);
    const method = c.req.method === 'HEAD' ? 'HEAD' : 'GET';
    try {
      return await proxyMedia(source, url, { method, ifNoneMatch: c.req.header('If-None-Match'), signal: c.req.raw.signal }, media);
    } catch (err) {
      // A refused or failed fetch is the operator's to see (a host list to widen, an attack, an outage), with its cause.
      if (err instanceof RelayError && (err.code === 'forbidden' || err.code === 'upstream_error')) {
        const cause = err.cause === undefined ? {} : { cause: log.redact(errorDetail(err.cause)) };
        log.logger.warn({ profile, jobId, n: Number(raw), reason: err.message, ...cause }, 'media not served');
      }
      throw err;
    }
  });
}
