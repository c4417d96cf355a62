/** What `POST /v3/midjourney/jobs/:verb` accepts: the vendor's verbs and, per verb, its documented fields. */
import { RelayError } from '../../core/errors.ts';
import { parseJsonObject } from '../../http/validate.ts';

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

export function checkVerb(raw: string | undefined): string {
  if (raw === undefined || !VERBS.has(raw)) throw new RelayError('not_found', `unknown verb; expected one of ${[...VERBS].join(', ')}`);
  return raw;
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
