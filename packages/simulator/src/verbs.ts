/** The job verbs the vendor accepts under `POST /jobs/<verb>`. */
export const VERBS = [
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
] as const;

/** One of {@link VERBS}. */
export type Verb = (typeof VERBS)[number];

/** The vendor's prompt length limit. */
export const MAX_PROMPT_LENGTH = 5000;

const REQUIRED_FIELDS: Partial<Record<Verb, readonly string[]>> = {
  imagine: ['prompt'],
  button: ['jobId', 'button'],
};

const IMAGE_VERBS: ReadonlySet<Verb> = new Set(['imagine', 'button', 'blend']);

/** Narrows a path segment to a known verb. */
export function isVerb(value: string): value is Verb {
  return (VERBS as readonly string[]).includes(value);
}

/** Whether a verb renders images (and so runs through progress events by default). */
export function producesImages(verb: Verb): boolean {
  return IMAGE_VERBS.has(verb);
}

/** Says why a create request body is invalid for the verb, or returns undefined when it is acceptable. */
export function validateCreateRequest(verb: Verb, body: Record<string, unknown>): string | undefined {
  for (const field of REQUIRED_FIELDS[verb] ?? []) {
    const value = body[field];
    if (typeof value !== 'string' || value.trim() === '') return `${field} is required`;
  }
  if (body.prompt !== undefined && typeof body.prompt !== 'string') return 'prompt must be a string';
  if (typeof body.prompt === 'string' && body.prompt.length > MAX_PROMPT_LENGTH) {
    return `prompt is longer than ${MAX_PROMPT_LENGTH} characters`;
  }
  if (body.channel !== undefined && (typeof body.channel !== 'string' || body.channel === '')) {
    return 'channel must be a non-empty string';
  }
  if (body.stream !== undefined && readStreamFlag(body.stream) === undefined) return 'stream must be a boolean';
  return undefined;
}

/** Reads the `stream` field (default true); multipart forms send it as the string "true" or "false". */
export function readStreamFlag(value: unknown): boolean | undefined {
  if (value === undefined) return true;
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  return undefined;
}
