import { errorMessage } from '../errors.ts';
import type { JobEvent } from '../ingest/event.ts';
import type { UpstreamClient } from '../ingest/upstream.ts';
import type { Logger } from '../logger.ts';
import type { UpstreamProfile } from '../profile.ts';

/**
 * The terminal event as it is to be stored: a vendor whose result is fetched once at the end
 * (profile.resultRequest) stores it with the terminal event; without it when it cannot be fetched.
 */
export function settleWithResult(options: { profile: UpstreamProfile; upstream: UpstreamClient; logger: Logger }) {
  const { profile, upstream, logger } = options;
  return async (jobId: string, event: JobEvent): Promise<JobEvent> => {
    if (!profile.resultRequest || !profile.withResult) return event;
    try {
      return profile.withResult(event, await upstream.send(profile.resultRequest(jobId)));
    } catch (err) {
      logger.warn({ jobId, err: errorMessage(err) }, 'could not fetch the result; storing the terminal event without it');
      return event;
    }
  };
}
