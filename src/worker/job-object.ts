import { DurableObject } from 'cloudflare:workers';
import type { StoredEvent } from '../core/bus/bus.ts';
import type { UpstreamReply } from '../core/profile.ts';
import type { WorkerConfig } from './config.ts';
import { type JobRecord, storedJobKey } from './do-bus.ts';
import type { Env } from './env.ts';
import { type JobRuntime, createJobRuntime } from './job-runtime.ts';
import { type PublishReply, type PublishedRuntime, createPublishedRuntime } from './published-runtime.ts';
import type { LatestEvent, PublishedEvent } from '../core/publish/event.ts';
import { storedJobRef, workerProfile } from './profiles.ts';
import { workerRecipe } from './recipe.ts';
import { errorMessage } from '../core/errors.ts';

/** After the terminal event, how long the in-memory relay stays before an idle object drops it. */
const IDLE_AFTER_TERMINAL_MS = 60_000;

/**
 * One job (`idFromName(<profile>:<jobid>)`): its events and snapshot in SQLite storage, its subscribers,
 * the follower of its upstream stream, and alarms for polling takeover, deadline and expiry. A job
 * of a publisher namespace (`<namespace>:<jobid>`) has its publishes instead of a follower, and an
 * alarm for a publisher gone silent.
 * The in-memory part is rebuilt from storage whenever the object wakes up.
 */
export class JobObject extends DurableObject<Env> {
  private runtime: JobRuntime | undefined;
  private published: PublishedRuntime | undefined;

  private get config(): WorkerConfig {
    return workerRecipe(this.env).config;
  }

  /** The job's runtime, for its profile (one object holds one job, so one profile). */
  private job(profileName: string): JobRuntime {
    this.runtime ??= createJobRuntime(this.ctx, workerRecipe(this.env), workerProfile(profileName).profile, (event, record) =>
      this.scheduleAfter(event, record),
    );
    return this.runtime;
  }

  /** Whether a name is a publisher namespace's (PUBLISHERS), not a profile's. */
  private isNamespace(name: string): boolean {
    return this.config.PUBLISHERS.some((entry) => entry.namespace === name);
  }

  /** The published job's runtime, for its namespace. */
  private publishedJob(namespace: string): PublishedRuntime {
    this.published ??= createPublishedRuntime(this.ctx, workerRecipe(this.env), namespace, (event, record) =>
      this.scheduleAfter(event, record, true),
    );
    return this.published;
  }

  /** Stores a publisher's checked batch in one step (the front checked the key, the body and the caps). */
  async publish(namespace: string, jobId: string, events: PublishedEvent[]): Promise<PublishReply> {
    return this.publishedJob(namespace).publish(jobId, events);
  }

  /** The published job's latest event, or null. */
  async latest(namespace: string, jobId: string): Promise<LatestEvent | null> {
    return this.publishedJob(namespace).relay.latest(jobId);
  }

  /**
   * `GET /subscribe?profile=&job=&since=[&dropin=1|&mux=1]`: the job's SSE stream (the front Worker
   * checked access and the resume point; only it can reach this object); `mux=1`: the job alone as
   * a multiplexed stream, which the front merges with other jobs'.
   */
  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const jobId = url.searchParams.get('job');
    const profile = url.searchParams.get('profile');
    if (url.pathname !== '/subscribe' || !jobId || !profile)
      return Response.json({ error: 'no such route', code: 'not_found' }, { status: 404 });
    const since = Number(url.searchParams.get('since') ?? -1);
    const mux = url.searchParams.get('mux') === '1';
    if (this.isNamespace(profile)) return this.publishedJob(profile).subscribe(jobId, since, mux);
    if (mux) return this.job(profile).subscribeMultiplexed(jobId, since);
    return this.job(profile).subscribe(jobId, since, url.searchParams.get('dropin') === '1');
  }

  /** The job object of the latest event that carried one, or null when this object has none. */
  async snapshot(profile: string, jobId: string): Promise<Record<string, unknown> | null> {
    return this.job(profile).relay.snapshot(jobId);
  }

  /** The data of the job's stored events, oldest first, or null when this object has none (the media proxy's source). */
  async history(profile: string, jobId: string): Promise<string[] | null> {
    return this.job(profile).relay.history(jobId);
  }

  /**
   * Follows the upstream stream of a job just created (the caller keeps the connection and
   * pumps it here); resolves with the job id once its first events are stored.
   */
  async adopt(profile: string, body: ReadableStream<Uint8Array>): Promise<string> {
    return this.job(profile).relay.adopt(body);
  }

  /**
   * Follows a job whose create answered JSON naming it: this object opens the job's stream
   * (profile.streamRequest) and resumes or polls as for any job; the alarm watchdog re-ensures it.
   */
  async follow(profile: string, jobId: string, reply?: UpstreamReply): Promise<void> {
    this.job(profile).relay.follow(jobId, reply);
  }

  /** The relay's waitForSnapshot (the first job object, as the vendor answers `stream:false`), up to `timeoutMs`. */
  async createdJob(profile: string, jobId: string, timeoutMs: number): Promise<Record<string, unknown> | null> {
    return this.job(profile).relay.waitForSnapshot(jobId, timeoutMs);
  }

  /** The relay's waitForEnd (the final job object, as a blocking create answers it), bounded by `timeoutMs` and the job deadline. */
  async finalJob(profile: string, jobId: string, timeoutMs?: number): Promise<Record<string, unknown> | null> {
    return this.job(profile).relay.waitForEnd(jobId, timeoutMs === undefined ? {} : { timeoutMs });
  }

  /** Watchdog while the job runs (takeover by polling, deadline), cleanup and expiry after. */
  override async alarm(): Promise<void> {
    // The object stores its job as `<profile>:<jobid>` (the relay's scoped bus): that names its runtime.
    const key = this.runtime?.bus.record()?.jobId ?? this.published?.bus.record()?.jobId ?? storedJobKey(this.ctx.storage);
    if (key === null || key === undefined) return;
    const namespaces = this.config.PUBLISHERS.map((entry) => entry.namespace);
    const ref = storedJobRef(key, namespaces);
    if (this.isNamespace(ref.profile)) return this.publishedAlarm(ref.profile, ref.jobId);
    const job = this.job(ref.profile);
    const record = job.bus.record();
    if (!record) return;
    const now = Date.now();
    if (record.terminalAt !== null) return this.endedAlarm(record.terminalAt, job.relay.counts().subscribers);
    const deadline = record.createdAt + job.config.JOB_DEADLINE_MS;
    if (now >= deadline) {
      await job.relay.endPastDeadline(ref.jobId);
      return;
    }
    try {
      await job.relay.check(ref.jobId);
    } catch (err) {
      job.logger.warn({ jobId: ref.jobId, err: errorMessage(err) }, 'follow check failed');
    }
    await this.ctx.storage.setAlarm(Math.min(now + job.config.LEASE_MS, deadline));
  }

  /** A published job's alarm: the end of a silent publisher's job, or cleanup and expiry once it is over. */
  private async publishedAlarm(namespace: string, jobId: string): Promise<void> {
    const job = this.publishedJob(namespace);
    const record = job.bus.record();
    if (!record) return;
    if (record.terminalAt !== null) return this.endedAlarm(record.terminalAt, job.relay.counts().subscribers);
    const next = await job.relay.endIfSilent(jobId);
    if (next !== null) await this.ctx.storage.setAlarm(next);
  }

  /** After the terminal event: the runtime dropped once no one listens, every trace gone once the history expires. */
  private async endedAlarm(terminalAt: number, subscribers: number): Promise<void> {
    const now = Date.now();
    const expiresAt = terminalAt + this.config.HISTORY_TTL_S * 1000;
    if (now >= expiresAt) return this.expire();
    if (subscribers === 0) await this.dropRuntime();
    return this.ctx.storage.setAlarm(this.runtime || this.published ? Math.min(now + IDLE_AFTER_TERMINAL_MS, expiresAt) : expiresAt);
  }

  /** Arms the watchdog on the job's first event (a published job's: its silence deadline, on each event), and cleanup once it is over. */
  private scheduleAfter(event: StoredEvent, record: JobRecord, published = false): void {
    const config = this.config;
    const now = Date.now();
    if (record.terminalAt !== null) {
      void this.ctx.storage.setAlarm(Math.min(now + IDLE_AFTER_TERMINAL_MS, record.terminalAt + config.HISTORY_TTL_S * 1000));
    } else if (published) {
      void this.ctx.storage.setAlarm(now + config.JOB_DEADLINE_MS);
    } else if (event.prev < 0) {
      void this.ctx.storage.setAlarm(Math.min(now + config.LEASE_MS, record.createdAt + config.JOB_DEADLINE_MS));
    }
  }

  private async dropRuntime(): Promise<void> {
    const runtimes = [this.runtime, this.published];
    this.runtime = undefined;
    this.published = undefined;
    await Promise.all(runtimes.map((runtime) => runtime?.close()));
  }

  /** History expiry: every trace of the job leaves storage. */
  private async expire(): Promise<void> {
    await this.dropRuntime();
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
  }
}
