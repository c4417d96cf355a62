/** A job across profiles: subscribe tokens and the bus name jobs as `<profile>:<jobid>`. */
export interface JobRef {
  profile: string;
  jobId: string;
}

/** `<profile>:<jobid>`, the form subscribe tokens carry. */
export function qualifiedJobId(ref: JobRef): string {
  return `${ref.profile}:${ref.jobId}`;
}

/**
 * Reads a job named in a token or a `/v1/tokens` body: `<profile>:<jobid>` when it starts with
 * a known profile's name, else a job of `fallback` (tokens and bodies written before profiles
 * name bare job ids, which are the first profile's).
 */
export function parseJobRef(entry: string, profiles: readonly string[], fallback: string): JobRef {
  for (const profile of profiles) {
    if (entry.startsWith(`${profile}:`)) return { profile, jobId: entry.slice(profile.length + 1) };
  }
  return { profile: fallback, jobId: entry };
}
