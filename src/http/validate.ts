import { RelayError } from '../core/errors.ts';

/** Verbs the vendor accepts on `POST /jobs/<verb>`. */
export const VERBS: ReadonlySet<string> = new Set([
  'imagine', 'button', 'describe', 'blend', 'seed',
  'settings', 'info', 'fast', 'relax', 'turbo', 'variability', 'remix',
]);

const JOB_ID = /^[A-Za-z0-9][A-Za-z0-9:._-]{0,199}$/;

/** A job id safe to put in an upstream URL, a bus key and an SSE header. */
export function checkJobId(raw: string | undefined): string {
  if (raw === undefined || !JOB_ID.test(raw)) {
    throw new RelayError('bad_request', 'jobid must be 1-200 characters of letters, digits and : . _ -');
  }
  return raw;
}

export function checkVerb(raw: string | undefined): string {
  if (raw === undefined || !VERBS.has(raw)) throw new RelayError('not_found', `unknown verb; expected one of ${[...VERBS].join(', ')}`);
  return raw;
}

/** Parses a create body: a JSON object, `stream` boolean if present. */
export function parseCreateBody(text: string): { body: Record<string, unknown>; stream: boolean } {
  let parsed: unknown;
  try {
    parsed = text.trim() === '' ? {} : JSON.parse(text);
  } catch {
    throw new RelayError('bad_request', 'request body is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new RelayError('bad_request', 'request body must be a JSON object');
  }
  const body = parsed as Record<string, unknown>;
  if (body.stream !== undefined && typeof body.stream !== 'boolean') throw new RelayError('bad_request', 'stream must be true or false');
  const { stream = true, ...rest } = body;
  return { body: rest, stream: stream as boolean };
}
