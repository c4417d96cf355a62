import { type JobRef, parseJobRef } from '../core/auth/job-ref.ts';
import { RelayError } from '../core/errors.ts';
import { isValidJobId } from '../core/ingest/job-id.ts';
import { MAX_BODY_DEPTH, jsonTooDeep } from '../core/ingest/json-depth.ts';

/** A job id safe to put in an upstream URL, a bus key and an SSE header. */
export function checkJobId(raw: string | undefined): string {
  if (!isValidJobId(raw)) {
    throw new RelayError('bad_request', 'jobid must be 1-200 characters of letters, digits and : . _ -');
  }
  return raw;
}

/** Parses a request body that must be a JSON object (empty counts as `{}` when allowed), nested at most MAX_BODY_DEPTH. */
export function parseJsonObject(text: string, allowEmpty: boolean): Record<string, unknown> {
  if (jsonTooDeep(text, MAX_BODY_DEPTH)) throw new RelayError('bad_request', `request body nests deeper than ${MAX_BODY_DEPTH} levels`);
  let parsed: unknown;
  try {
    parsed = allowEmpty && text.trim() === '' ? {} : JSON.parse(text);
  } catch {
    throw new RelayError('bad_request', 'request body is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new RelayError('bad_request', 'request body must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}

/** Longest lifetime `POST /v1/tokens` grants, seconds. */
export const MAX_TOKEN_TTL_S = 7 * 86_400;

/**
 * Parses `POST /v1/tokens`: `{"jobs": [jobid…], "ttl_s"?: seconds}`; a job is `<profile>:<jobid>`
 * or a bare id of the first profile (see parseJobRef).
 */
export function parseTokenRequest(
  text: string,
  maxJobs: number,
  profiles: readonly string[] = [],
): { jobs: string[]; refs: JobRef[]; ttlS: number | undefined } {
  const { jobs, ttl_s: ttl } = parseJsonObject(text, false) as { jobs?: unknown; ttl_s?: unknown };
  if (!Array.isArray(jobs) || jobs.length === 0 || jobs.length > maxJobs) {
    throw new RelayError('bad_request', `jobs must be an array of 1-${maxJobs} job ids`);
  }
  const [fallback = ''] = profiles;
  const ids = jobs.map((id) => {
    if (typeof id !== 'string') return checkJobId(undefined);
    checkJobId(parseJobRef(id, profiles, fallback).jobId);
    return id;
  });
  if (ttl !== undefined && (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TOKEN_TTL_S)) {
    throw new RelayError('bad_request', `ttl_s must be an integer from 1 to ${MAX_TOKEN_TTL_S}`);
  }
  const unique = [...new Set(ids)];
  return { jobs: unique, refs: unique.map((id) => parseJobRef(id, profiles, fallback)), ttlS: ttl };
}
