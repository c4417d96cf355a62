/** Text in place of a secret. */
export const REDACTED = '[redacted]';

/** A secret and the forms it travels in: as is, base64 (Basic auth, encoded blobs), URL-encoded. */
function variants(secret: string): string[] {
  const utf8 = new TextEncoder().encode(secret);
  let binary = '';
  for (const byte of utf8) binary += String.fromCharCode(byte);
  const base64 = btoa(binary);
  return [...new Set([secret, base64, base64.replace(/=+$/, ''), encodeURIComponent(secret)])];
}

/** Removes secrets from text that is about to leave the process (responses, logs, errors). */
export function createRedactor(secrets: readonly (string | undefined)[]): (text: string) => string {
  const list = secretList(secrets);
  if (list.length === 0) return (text) => text;
  return (text) => {
    let out = text;
    for (const secret of list) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    return out;
  };
}

/** The strings a redactor looks for, longest first (so a secret wins over its own base64 prefix). */
function secretList(secrets: readonly (string | undefined)[]): string[] {
  const all = secrets.filter((s): s is string => typeof s === 'string' && s.length >= 4).flatMap(variants);
  return [...new Set(all)].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length);
}

/**
 * Redacts a byte stream (the upstream's SSE body) as it flows: complete secrets are replaced,
 * and a chunk ending in what could be the start of a secret holds that tail back until the
 * next chunk shows whether it is one. Frames end in a blank line, so events are never held.
 */
export function redactStream(body: ReadableStream<Uint8Array>, secrets: readonly (string | undefined)[]): ReadableStream<Uint8Array> {
  const list = secretList(secrets);
  if (list.length === 0) return body;
  const redact = createRedactor(secrets);
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  let held = '';

  /** Index from which `text` may be the start of a secret (text.length when it cannot). */
  function heldFrom(text: string): number {
    for (let i = 0; i < text.length; i++) {
      const tail = text.slice(i);
      if (list.some((secret) => tail.length < secret.length && secret.startsWith(tail))) return i;
    }
    return text.length;
  }
  function maxHold(text: string): number {
    const longest = list[0]?.length ?? 0;
    return Math.max(0, text.length - longest);
  }

  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        const text = redact(held + decoder.decode(chunk, { stream: true }));
        const start = maxHold(text);
        const cut = start + heldFrom(text.slice(start));
        held = text.slice(cut);
        if (cut > 0) controller.enqueue(encoder.encode(text.slice(0, cut)));
      },
      flush(controller) {
        const text = redact(held + decoder.decode());
        // What is still held is a strict prefix of a secret: a long piece of one never goes out.
        const cut = heldFrom(text);
        const out = text.length - cut >= 4 ? text.slice(0, cut) + REDACTED : text;
        if (out !== '') controller.enqueue(encoder.encode(out));
      },
    }),
  );
}
