/** A create request that passed validation, with the defaults of the fields it left out. */
export interface CreateRequest {
  model: string;
  background: boolean;
  stream: boolean;
  store: boolean;
  metadata: Record<string, string>;
  /** `stream_options.include_obfuscation`, default true. */
  includeObfuscation: boolean;
  maxOutputTokens?: number;
  /** The text the `--sim-*` directives are read from: the string input, or the first `input_text` item's text. */
  text: string;
  /** The body as sent, for the fields the response object echoes back. */
  body: Record<string, unknown>;
}

/** Why a create body was rejected: the vendor's 400 fields. */
export interface RequestProblem {
  message: string;
  param: string | null;
  code: string | null;
}

/** Either the validated request or the 400 to answer. */
export type CreateRequestResult = { ok: true; request: CreateRequest } | { ok: false; problem: RequestProblem };

const MAX_METADATA_PAIRS = 16;
const MAX_METADATA_KEY = 64;
const MAX_METADATA_VALUE = 512;
const BAD_JSON =
  "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)";

/** Parses and checks a `POST /responses` body as the vendor does for the fields the simulator models. */
export function readCreateRequest(raw: string): CreateRequestResult {
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    return problem(BAD_JSON, null, null);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return problem(BAD_JSON, null, null);
  const fields = body as Record<string, unknown>;

  if (fields.model === undefined) return missing('model');
  if (typeof fields.model !== 'string' || fields.model === '') return wrongType('model', 'a non-empty string', fields.model);
  if (fields.input === undefined) return missing('input');
  if (typeof fields.input !== 'string' && !Array.isArray(fields.input)) return wrongType('input', 'a string or an array', fields.input);
  for (const name of ['background', 'stream', 'store'] as const) {
    if (fields[name] !== undefined && typeof fields[name] !== 'boolean') return wrongType(name, 'a boolean', fields[name]);
  }
  const background = fields.background === true;
  const store = fields.store !== false;
  if (background && !store) {
    // The guide says stateless background requests are rejected; the status and text are not documented (Azure: 400).
    return problem('Background mode requires store=true: store=false cannot be used with background=true.', 'store', null);
  }
  const metadata = readMetadata(fields.metadata);
  if (!metadata.ok) return metadata;
  const options = fields.stream_options;
  if (options !== undefined && (typeof options !== 'object' || options === null || Array.isArray(options))) {
    return wrongType('stream_options', 'an object', options);
  }
  const obfuscation = (options as Record<string, unknown> | undefined)?.include_obfuscation;
  if (obfuscation !== undefined && typeof obfuscation !== 'boolean') {
    return wrongType('stream_options.include_obfuscation', 'a boolean', obfuscation);
  }
  const max = fields.max_output_tokens;
  if (max !== undefined && max !== null && !(Number.isInteger(max) && (max as number) >= 1)) {
    return problem("Invalid 'max_output_tokens': expected an integer of at least 1.", 'max_output_tokens', 'invalid_value');
  }

  return {
    ok: true,
    request: {
      model: fields.model,
      background,
      stream: fields.stream === true,
      store,
      metadata: metadata.value,
      includeObfuscation: obfuscation !== false,
      ...(typeof max === 'number' ? { maxOutputTokens: max } : {}),
      text: inputText(fields.input),
      body: fields,
    },
  };
}

/** The string input itself, or the text of the first `input_text` part (or string content) of an item array. */
export function inputText(input: unknown): string {
  if (typeof input === 'string') return input;
  if (!Array.isArray(input)) return '';
  for (const item of input) {
    const content = (item as { content?: unknown } | null)?.content;
    if (typeof content === 'string') return content;
    if (!Array.isArray(content)) continue;
    for (const part of content) {
      const { type, text } = (part ?? {}) as { type?: unknown; text?: unknown };
      if (type === 'input_text' && typeof text === 'string') return text;
    }
  }
  return '';
}

function readMetadata(value: unknown): { ok: true; value: Record<string, string> } | { ok: false; problem: RequestProblem } {
  if (value === undefined || value === null) return { ok: true, value: {} };
  if (typeof value !== 'object' || Array.isArray(value)) return wrongType('metadata', 'an object', value);
  const entries = Object.entries(value);
  if (entries.length > MAX_METADATA_PAIRS) {
    return problem(`Invalid 'metadata': too many properties, at most ${MAX_METADATA_PAIRS} are allowed.`, 'metadata', 'invalid_value');
  }
  for (const [key, item] of entries) {
    if (key.length > MAX_METADATA_KEY)
      return problem(`Invalid 'metadata': keys are at most ${MAX_METADATA_KEY} characters.`, 'metadata', 'invalid_value');
    if (typeof item !== 'string') return wrongType(`metadata.${key}`, 'a string', item);
    if (item.length > MAX_METADATA_VALUE) {
      return problem(`Invalid 'metadata.${key}': values are at most ${MAX_METADATA_VALUE} characters.`, `metadata.${key}`, 'invalid_value');
    }
  }
  return { ok: true, value: Object.fromEntries(entries) as Record<string, string> };
}

function problem(message: string, param: string | null, code: string | null): { ok: false; problem: RequestProblem } {
  return { ok: false, problem: { message, param, code } };
}

function missing(param: string): { ok: false; problem: RequestProblem } {
  return problem(`Missing required parameter: '${param}'.`, param, 'missing_required_parameter');
}

function wrongType(param: string, expected: string, value: unknown): { ok: false; problem: RequestProblem } {
  return problem(`Invalid type for '${param}': expected ${expected}, but got ${describe(value)} instead.`, param, 'invalid_type');
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'an integer' : 'a decimal';
  if (typeof value === 'string') return value === '' ? 'an empty string' : 'a string';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
