import type { JobObject } from './job-object.ts';
import type { JobStarter } from './job-starter.ts';

/** Bindings, vars and secrets of the Worker (see wrangler.toml); vars arrive as strings. */
export interface Env {
  /** One Durable Object per job, addressed by `idFromName(jobid)`: the job's hub and store. */
  JOBS: DurableObjectNamespace<JobObject>;
  /** One short-lived Durable Object per create request: it owns the upstream stream. */
  JOB_STARTERS: DurableObjectNamespace<JobStarter>;
  /**
   * Profile credentials, secrets (`wrangler secret put <name>`): at least one; each profile is
   * served only when its own is set (see src/profiles/index.ts, `endpoint`).
   */
  UPSTREAM_TOKEN?: string;
  FAL_KEY?: string;
  OPENAI_API_KEY?: string;
  UPSTREAM_URL?: string;
  FAL_QUEUE_URL?: string;
  OPENAI_BASE_URL?: string;
  HEARTBEAT_MS?: string;
  RETRY_MS?: string;
  HISTORY_TTL_S?: string;
  HISTORY_MAX_EVENTS?: string;
  LEASE_MS?: string;
  POLL_INTERVAL_MS?: string;
  JOB_DEADLINE_MS?: string;
  MAX_BODY_BYTES?: string;
  MAX_STREAM_MS?: string;
  LOG_LEVEL?: string;
  /** `"true"` runs without API keys (development; `npm run dev:worker` sets it); else GATEWAY_API_KEYS is required. */
  GATEWAY_OPEN?: string;
  /** Secrets when access control is on (see the security section). */
  GATEWAY_API_KEYS?: string;
  SUBSCRIBE_TOKEN_SECRET?: string;
  /** Any other variable of the shared configuration (CORS_ORIGINS, limits…), as a string. */
  [name: string]: unknown;
}
