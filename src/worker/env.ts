import type { ConfigVariableName } from '../config.ts';
import type { WORKER_VARIABLES } from './config.ts';
import type { JobObject } from './job-object.ts';
import type { JobStarter } from './job-starter.ts';

/**
 * Every variable the Worker reads, as a string: the gateway's, every profile's (credentials are
 * secrets, `wrangler secret put <name>`; at least one, each profile is served only when its own is
 * set) and the Worker's own (WORKER_VARIABLES); `GATEWAY_OPEN="true"` runs without API keys (development, as `npm run dev:worker` does).
 */
type Vars = { [Name in ConfigVariableName | keyof typeof WORKER_VARIABLES]?: string };

/** Bindings, vars and secrets of the Worker (see wrangler.toml); vars arrive as strings. */
export interface Env extends Vars {
  /** One Durable Object per job, addressed by `idFromName('<profile>:<jobid>')`: the job's hub and store. */
  JOBS: DurableObjectNamespace<JobObject>;
  /** One short-lived Durable Object per create request: it owns the upstream stream. */
  JOB_STARTERS: DurableObjectNamespace<JobStarter>;
  /** Anything else the deployment binds (unknown to the gateway). */
  [name: string]: unknown;
}
