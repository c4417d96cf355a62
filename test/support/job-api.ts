import type { UpstreamClient, UpstreamReply } from '../../src/core/ingest/upstream.ts';
import { midjourneyV3 } from '../../src/profiles/midjourney-v3/profile.ts';

/** A Midjourney-style job API whose status polls (`GET /jobs/<id>`) the test answers; every other call fails. */
export function jobApiClient(getJob: (jobid: string) => Promise<UpstreamReply>): UpstreamClient {
  return {
    async send(request) {
      if (request.method === 'GET' && request.path.startsWith('/jobs/')) return getJob(decodeURIComponent(request.path.slice(6)));
      throw new Error(`not used: ${request.method} ${request.path}`);
    },
    async open() {
      throw new Error('not used: open');
    },
  };
}

/** What a follower needs besides the bus and the upstream, for the midjourney-v3 profile (no secrets to redact here). */
export const midjourneyFollow = { profile: midjourneyV3, redact: (text: string) => text };
