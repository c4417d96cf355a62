/** A create request's parameters, kept exactly as sent: they become the job's `request`. */
export type RequestBody = Record<string, unknown>;

/** Either the parsed body or why it could not be read (a 400). */
export type BodyResult = { ok: true; body: RequestBody } | { ok: false; error: string };

/** Reads a create request as JSON (an empty body counts as `{}`), or as a multipart form, which `blend` uploads use. */
export async function readCreateBody(request: Request): Promise<BodyResult> {
  const type = request.headers.get('content-type') ?? '';
  if (type.startsWith('multipart/form-data')) return readForm(request);
  const text = await request.text();
  if (text.trim() === '') return { ok: true, body: {} };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { ok: false, error: 'Body is not valid JSON' };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { ok: false, error: 'Body must be a JSON object' };
  }
  return { ok: true, body: parsed as RequestBody };
}

async function readForm(request: Request): Promise<BodyResult> {
  let form: FormData;
  try {
    form = await request.formData();
  } catch {
    return { ok: false, error: 'Body is not a valid multipart form' };
  }
  const body: RequestBody = {};
  for (const [name, value] of form) {
    body[name] = typeof value === 'string' ? value : { name: value.name, type: value.type, size: value.size };
  }
  return { ok: true, body };
}
