import { DurableObject } from 'cloudflare:workers';
import { qualifiedJobId } from '../core/auth/job-ref.ts';
import { configSecrets } from '../core/config.ts';
import { RelayError } from '../core/errors.ts';
import { firstJobId } from '../core/first-job-id.ts';
import { createRedactor } from '../core/redact.ts';
import { type UpstreamReply, createUpstreamClient } from '../core/upstream.ts';
import { loadWorkerConfig } from './config.ts';
import type { Env } from './env.ts';
import { workerEndpoint, workerProfile } from './profiles.ts';

export type StartResult =
  | { kind: 'job'; jobId: string }
  | { kind: 'reply'; reply: UpstreamReply }
  | { kind: 'failed'; message: string; code: 'upstream_error' | 'unavailable' };

/**
 * Creates one job upstream and holds its stream. The job id is only known from the stream's
 * first event, but whoever sends the request owns the connection, so that owner must be a
 * Durable Object (a Worker invocation is cancelled soon after its client leaves). This one
 * reads ahead for the id (the core's firstJobId: the follower's mapping and validation), then
 * hands the whole stream to the job's object (`idFromName(<profile>:<jobid>)`) and keeps pumping.
 */
export class JobStarter extends DurableObject<Env> {
  async start(profileName: string, kind: string, body: Record<string, unknown>): Promise<StartResult> {
    const config = loadWorkerConfig(this.env);
    const { profile } = workerProfile(profileName);
    const redact = createRedactor(configSecrets(config));
    const upstream = createUpstreamClient(profile, workerEndpoint(profile, config), redact);
    try {
      const result = await upstream.open(profile.createRequest(kind, body));
      if (result.kind === 'reply') return result;
      const [probe, rest] = result.body.tee();
      const jobId = await firstJobId(probe, { profile, redact });
      if (jobId === undefined) {
        await rest.cancel().catch(() => undefined);
        return { kind: 'failed', code: 'upstream_error', message: 'upstream stream ended before naming the job' };
      }
      const job = this.env.JOBS.get(this.env.JOBS.idFromName(qualifiedJobId({ profile: profile.name, jobId })));
      return { kind: 'job', jobId: await job.adopt(profile.name, rest) };
    } catch (err) {
      // RPC carries messages, not classes: the code goes along so the front keeps the cause's status.
      if (err instanceof RelayError && (err.code === 'upstream_error' || err.code === 'unavailable')) {
        return { kind: 'failed', code: err.code, message: err.message };
      }
      throw err;
    }
  }
}
