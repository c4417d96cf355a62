import { type JobRef, parseJobRef } from '../core/auth/job-ref.ts';
import type { UpstreamProfile } from '../core/profile.ts';
import type { UpstreamEndpoint } from '../core/ingest/upstream.ts';
import { PROFILES, type ProfileEntry } from '../profiles/index.ts';
import type { WorkerConfig } from './config.ts';

/** A profile's entry by name (names come from this Worker itself: the front, or a stored key). */
export function workerProfile(name: string): ProfileEntry {
  const entry = PROFILES.find((candidate) => candidate.profile.name === name);
  if (!entry) throw new Error(`unknown profile ${name}`);
  return entry;
}

/** Where a profile's vendor lives and its credential (the Worker has no simulator: configured or refused at start). */
export function workerEndpoint(profile: UpstreamProfile, config: WorkerConfig): UpstreamEndpoint {
  const endpoint = workerProfile(profile.name).endpoint(config);
  if (!endpoint) throw new Error(`profile ${profile.name} is not configured`);
  return endpoint;
}

/** The job a Durable Object's stored key (`<profile>:<jobid>`, or `<namespace>:<jobid>` of a publisher's) names. */
export function storedJobRef(key: string, namespaces: readonly string[] = []): JobRef {
  const names = PROFILES.map((entry) => entry.profile.name);
  return parseJobRef(key, [...names, ...namespaces], names[0] as string);
}
