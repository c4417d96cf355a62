import { DurableObject } from 'cloudflare:workers';
import { configSecrets } from '../core/config.ts';
import { createRedactor } from '../core/redact.ts';
import { type UpstreamReply, createUpstreamClient } from '../core/upstream.ts';
import { loadWorkerConfig } from './config.ts';
import type { Env } from './env.ts';
import { firstJobId } from './first-job-id.ts';

export type StartResult = { kind: 'job'; jobId: string } | { kind: 'reply'; reply: UpstreamReply } | { kind: 'failed'; message: string };

/**
 * Creates one job upstream and holds its stream. The job id is only known from the stream's
 * first event, but whoever sends the request owns the connection, so that owner must be a
 * Durable Object (a Worker invocation is cancelled soon after its client leaves). This one
 * reads ahead for the id, then hands the whole stream to the job's object and keeps pumping.
 */
export class JobStarter extends DurableObject<Env> {
  async start(verb: string, body: Record<string, unknown>): Promise<StartResult> {
    const config = loadWorkerConfig(this.env);
    const upstream = createUpstreamClient(
      { baseUrl: config.UPSTREAM_URL, token: config.UPSTREAM_TOKEN },
      createRedactor(configSecrets(config)),
    );
    const result = await upstream.createJob(verb, body);
    if (result.kind === 'reply') return result;
    const [probe, rest] = result.body.tee();
    const jobId = await firstJobId(probe);
    if (jobId === undefined) {
      await rest.cancel().catch(() => undefined);
      return { kind: 'failed', message: 'upstream stream ended before naming the job' };
    }
    const job = this.env.JOBS.get(this.env.JOBS.idFromName(jobId));
    return { kind: 'job', jobId: await job.adopt(rest) };
  }
}
