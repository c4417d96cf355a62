import { DurableObject } from 'cloudflare:workers';
import { qualifiedJobId } from '../core/auth/job-ref.ts';
import { RelayError } from '../core/errors.ts';
import { firstJobId } from '../core/ingest/first-job-id.ts';
import { openCreate } from '../core/ingest/open-create.ts';
import type { CreateOutcome } from '../core/relay.ts';
import type { Env } from './env.ts';
import { workerProfile } from './profiles.ts';
import { workerRecipe } from './recipe.ts';

export type StartResult = CreateOutcome | { kind: 'failed'; message: string; code: 'upstream_error' | 'unavailable' };

/**
 * Creates one job upstream (the core's openCreate) and hands it to the job's object
 * (`idFromName(<profile>:<jobid>)`). A create answering JSON names the job: its object opens the
 * job's stream itself. A create answering the stream names the job only in its first event, and
 * whoever sent the request owns the connection, so that owner must be a Durable Object (a Worker
 * invocation is cancelled soon after its client leaves): this one reads ahead for the id (the
 * core's firstJobId), then hands the whole stream to the job's object and keeps pumping.
 */
export class JobStarter extends DurableObject<Env> {
  async start(profileName: string, kind: string, body: Record<string, unknown>): Promise<StartResult> {
    const { redact, upstream: upstreamOf } = workerRecipe(this.env);
    const { profile } = workerProfile(profileName);
    const upstream = upstreamOf(profile);
    const jobObject = (jobId: string) => this.env.JOBS.get(this.env.JOBS.idFromName(qualifiedJobId({ profile: profile.name, jobId })));
    try {
      const opened = await openCreate(upstream, profile, kind, body);
      if (opened.kind === 'reply') return opened;
      if (opened.kind === 'started') {
        await jobObject(opened.jobId).follow(profile.name, opened.jobId, opened.reply);
        return { kind: 'job', jobId: opened.jobId, reply: opened.reply };
      }
      const [probe, rest] = opened.body.tee();
      const jobId = await firstJobId(probe, { profile, redact });
      if (jobId === undefined) {
        await rest.cancel().catch(() => undefined);
        return { kind: 'failed', code: 'upstream_error', message: 'upstream stream ended before naming the job' };
      }
      return { kind: 'job', jobId: await jobObject(jobId).adopt(profile.name, rest) };
    } catch (err) {
      // RPC carries messages, not classes: the code goes along so the front keeps the cause's status.
      if (err instanceof RelayError && (err.code === 'upstream_error' || err.code === 'unavailable')) {
        return { kind: 'failed', code: err.code, message: err.message };
      }
      throw err;
    }
  }
}
