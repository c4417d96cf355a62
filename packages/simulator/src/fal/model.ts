import { fnv1a } from '../hash.ts';
import { TILE_SIZE } from '../images.ts';
import type { FalOutcome } from './directives.ts';
import { errorDetail } from './errors.ts';
import type { FalErrorDetail } from './errors.ts';

/** What `GET result` answers once the request is `COMPLETED`, and the `error` its status then shows. */
export interface ModelAnswer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  error?: { message: string; type?: string };
}

/** The simulated model's view of one request. */
export interface ModelRequest {
  requestId: string;
  input: Record<string, unknown>;
  outcome: FalOutcome;
  /** `<origin>/_sim/images/<key>`: the simulator's PNG route stands in for fal's CDN. */
  imageBase: string;
  /** Put into the model error for `--sim-echo-token`. */
  echoedKey?: string;
}

const MAX_IMAGES = 4;

/**
 * Input errors as a flux/dev-like model reports them. They come back at the result call, not at submit:
 * the queue accepts any JSON and the model validates (TanStack/ai #396 saw that against the live API).
 * `type` and `msg` follow pydantic, `url` fal's documented form (both unconfirmed for `missing`).
 */
export function inputErrors(input: Record<string, unknown>): FalErrorDetail[] {
  if (!Object.hasOwn(input, 'prompt')) return [errorDetail(['body', 'prompt'], 'missing', 'Field required', input)];
  if (typeof input.prompt !== 'string') {
    return [errorDetail(['body', 'prompt'], 'string_type', 'Input should be a valid string', input.prompt)];
  }
  return [];
}

/** The model's answer after `inferenceSeconds`: flux/dev-shaped output, or a 422 with the model error. */
export function modelAnswer(request: ModelRequest, inferenceSeconds: number): ModelAnswer {
  const invalid = inputErrors(request.input);
  if (invalid.length > 0) return modelError(invalid);
  const prompt = String(request.input.prompt);
  if (request.outcome === 'error') {
    const echo = request.echoedKey === undefined ? '' : ` (Authorization: Key ${request.echoedKey})`;
    const msg = `The content could not be processed because it contained material flagged by a content checker.${echo}`;
    return modelError([errorDetail(['body', 'prompt'], 'content_policy_violation', msg, prompt)]);
  }
  const count = readImageCount(request.input.num_images);
  const images = Array.from({ length: count }, (_, i) => ({
    url: `${request.imageBase}/${i + 1}.png`,
    width: TILE_SIZE,
    height: TILE_SIZE,
    content_type: 'image/png',
  }));
  const seed = Number.isSafeInteger(request.input.seed) ? request.input.seed : fnv1a(request.requestId);
  return {
    status: 200,
    body: { images, timings: { inference: inferenceSeconds }, seed, has_nsfw_concepts: images.map(() => false), prompt },
  };
}

/** The answer of a request cancelled before it completed (unconfirmed: fal documents no body for it). */
export function cancelledAnswer(): ModelAnswer {
  return { status: 400, body: { detail: 'Request was cancelled' }, error: { message: 'Request was cancelled' } };
}

function modelError(detail: FalErrorDetail[]): ModelAnswer {
  const first = detail[0];
  return {
    status: 422,
    body: { detail },
    headers: { 'X-Fal-Retryable': 'false' },
    error: first ? { message: first.msg, type: first.type } : { message: 'Unprocessable Entity' },
  };
}

function readImageCount(value: unknown): number {
  return Number.isInteger(value) && (value as number) >= 1 ? Math.min(value as number, MAX_IMAGES) : 1;
}
