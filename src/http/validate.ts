import { RelayError } from '../core/errors.ts';
import { isValidJobId } from '../core/job-id.ts';
import { MAX_BODY_DEPTH, jsonTooDeep } from '../core/json-depth.ts';

/** Verbs the vendor accepts on `POST /jobs/<verb>`. */
export const VERBS: ReadonlySet<string> = new Set([
  'imagine',
  'button',
  'describe',
  'blend',
  'seed',
  'settings',
  'info',
  'fast',
  'relax',
  'turbo',
  'variability',
  'remix',
]);

/** A job id safe to put in an upstream URL, a bus key and an SSE header. */
export function checkJobId(raw: string | undefined): string {
  if (!isValidJobId(raw)) {
    throw new RelayError('bad_request', 'jobid must be 1-200 characters of letters, digits and : . _ -');
  }
  return raw;
}

export function checkVerb(raw: string | undefined): string {
  if (raw === undefined || !VERBS.has(raw)) throw new RelayError('not_found', `unknown verb; expected one of ${[...VERBS].join(', ')}`);
  return raw;
}

/** Parses a request body that must be a JSON object (empty counts as `{}` when allowed), nested at most MAX_BODY_DEPTH. */
function parseJsonObject(text: string, allowEmpty: boolean): Record<string, unknown> {
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

/** Parses a create body: a JSON object, `stream` boolean if present. */
export function parseCreateBody(text: string): { body: Record<string, unknown>; stream: boolean } {
  const body = parseJsonObject(text, true);
  if (body.stream !== undefined && typeof body.stream !== 'boolean') throw new RelayError('bad_request', 'stream must be true or false');
  const { stream = true, ...rest } = body;
  return { body: rest, stream: stream as boolean };
}

/** Fields every verb takes (`stream` is the gateway's own; `replyUrl` is forwarded only when allowed). */
const COMMON_FIELDS = ['channel', 'replyRef'];
const numbered = (name: string) => [1, 2, 3, 4, 5].map((n) => `${name}_${n}`);

/**
 * The vendor's documented create fields per verb (Midjourney v3, JSON bodies). Everything else
 * is dropped, so a field the upstream would act on (a webhook under another spelling, say)
 * never reaches it unless it is listed here.
 */
const VERB_FIELDS: Readonly<Record<string, readonly string[]>> = {
  imagine: ['prompt'],
  button: ['jobId', 'button', 'prompt', 'mask'],
  describe: ['imageUrl'],
  blend: [...numbered('imageUrl'), 'blendDimensions'],
  seed: ['jobId'],
};

/**
 * The body to forward for a verb: the vendor's documented fields only (`replyUrl`, on which the
 * upstream would POST every job event, only when allowed), with the prompt's limits checked.
 */
export function checkCreateLimits(
  verb: string,
  body: Record<string, unknown>,
  options: { maxPromptChars: number; allowReplyUrl: boolean },
): Record<string, unknown> {
  const { prompt } = body;
  if (prompt !== undefined && typeof prompt !== 'string') throw new RelayError('bad_request', 'prompt must be a string');
  if (typeof prompt === 'string' && prompt.length > options.maxPromptChars) {
    throw new RelayError('bad_request', `prompt exceeds ${options.maxPromptChars} characters`);
  }
  const allowed = [...(VERB_FIELDS[verb] ?? []), ...COMMON_FIELDS, ...(options.allowReplyUrl ? ['replyUrl'] : [])];
  const forwarded: Record<string, unknown> = {};
  for (const field of allowed) if (Object.hasOwn(body, field)) forwarded[field] = body[field];
  return forwarded;
}

/** Longest lifetime `POST /v1/tokens` grants, seconds. */
export const MAX_TOKEN_TTL_S = 7 * 86_400;

/** Parses `POST /v1/tokens`: `{"jobs": [jobid…], "ttl_s"?: seconds}`. */
export function parseTokenRequest(text: string, maxJobs: number): { jobs: string[]; ttlS: number | undefined } {
  const { jobs, ttl_s: ttl } = parseJsonObject(text, false) as { jobs?: unknown; ttl_s?: unknown };
  if (!Array.isArray(jobs) || jobs.length === 0 || jobs.length > maxJobs) {
    throw new RelayError('bad_request', `jobs must be an array of 1-${maxJobs} job ids`);
  }
  const ids = jobs.map((id) => checkJobId(typeof id === 'string' ? id : undefined));
  if (ttl !== undefined && (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TOKEN_TTL_S)) {
    throw new RelayError('bad_request', `ttl_s must be an integer from 1 to ${MAX_TOKEN_TTL_S}`);
  }
  return { jobs: [...new Set(ids)], ttlS: ttl };
}
