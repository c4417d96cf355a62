import { MAX_JSON_DEPTH, jsonTooDeep } from './ingest/json-depth.ts';

/** Text in place of a secret. */
export const REDACTED = '[redacted]';

/** Shorter secrets are not redacted (they cannot be told apart from data). */
const MIN_SECRET_CHARS = 4;
/** Shorter base64 fragments are not looked for (too likely to be ordinary text). */
const MIN_BASE64_CHARS = 8;
/** JSON held inside JSON strings is decoded this many levels deep. */
const MAX_NESTED_JSON = 3;

const utf8 = (text: string) => [...new TextEncoder().encode(text)];
const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
/** One hex digit, either case. */
const hexDigit = (nibble: number) => {
  const digit = nibble.toString(16);
  return nibble < 10 ? digit : `[${digit}${digit.toUpperCase()}]`;
};
const hexByte = (byte: number) => hexDigit(byte >> 4) + hexDigit(byte & 15);

/**
 * One character of a secret in every form a decoder restores: as is, percent-encoded (its UTF-8
 * bytes, hex either case), a JSON `\uXXXX` escape (either case), a JSON short escape, `+` for a
 * space. Any mix along the secret matches.
 */
function charPattern(char: string): string {
  const forms = [
    escapeRegex(char),
    utf8(char)
      .map((byte) => `%${hexByte(byte)}`)
      .join(''),
  ];
  let unicode = '';
  for (let i = 0; i < char.length; i++) {
    const unit = char.charCodeAt(i);
    unicode += `\\\\u${[12, 8, 4, 0].map((shift) => hexDigit((unit >> shift) & 15)).join('')}`;
  }
  forms.push(unicode);
  if (char === '/') forms.push('\\\\/');
  if (char === '"') forms.push('\\\\"');
  if (char === '\\') forms.push('\\\\\\\\');
  if (char === ' ') forms.push('\\+');
  return `(?:${forms.join('|')})`;
}

/**
 * The base64 characters that only the secret's bytes determine, for each of the 3 byte
 * alignments it can have inside a longer blob (`Bearer <token>`, `user:<token>` for Basic auth,
 * any encoded document), in the standard and URL-safe alphabets.
 */
function base64Fragments(secret: string): string[] {
  const bytes = utf8(secret);
  const fragments: string[] = [];
  for (let offset = 0; offset < 3; offset++) {
    const binary = String.fromCharCode(...new Array<number>(offset).fill(0), ...bytes);
    const base64 = btoa(binary);
    const first = Math.ceil((8 * offset) / 6);
    const end = Math.floor((8 * (offset + bytes.length)) / 6);
    const fragment = base64.slice(first, end);
    if (fragment.length >= MIN_BASE64_CHARS) fragments.push(fragment, fragment.replace(/\+/g, '-').replace(/\//g, '_'));
  }
  return [...new Set(fragments)];
}

/** Regex source matching one secret in any of its forms. */
function secretPattern(secret: string): string {
  const mixed = [...secret].map(charPattern).join('');
  const hex = utf8(secret).map(hexByte).join('');
  const base64 = base64Fragments(secret)
    .sort((a, b) => b.length - a.length)
    .map(escapeRegex);
  return [mixed, hex, ...base64].join('|');
}

function secretList(secrets: readonly (string | undefined)[]): string[] {
  const list = secrets.filter((s): s is string => typeof s === 'string' && s.length >= MIN_SECRET_CHARS);
  // Longest first, so a secret wins over another that is a piece of it.
  return [...new Set(list)].sort((a, b) => b.length - a.length);
}

/**
 * Removes secrets from text about to leave the process (events, replies, logs, errors), in every
 * form a consumer would decode back to the secret:
 * - the bytes as is, or any mix of raw characters, percent-encoding (`%74`, `%6f`, either case),
 *   JSON escapes (`\u0074`, `\/`, `\"`) and `+` for a space;
 * - hex of its UTF-8 bytes (either case);
 * - base64 (standard or URL-safe) of any text holding it, at any byte alignment;
 * - and, in JSON text holding a backslash escape, each string value and key after JSON decoding
 *   (then re-serialised), including JSON nested in those strings.
 * Text without a secret is returned unchanged.
 */
export function createRedactor(secrets: readonly (string | undefined)[]): (text: string) => string {
  const list = secretList(secrets);
  if (list.length === 0) return (text) => text;
  const pattern = new RegExp(list.map(secretPattern).join('|'), 'g');
  // The shortest text any form of a secret can be (as is, or a base64 fragment; every other form
  // is longer): shorter text holds none, nor does any JSON it decodes to (decoding only shortens).
  const shortest = Math.min(...list.flatMap((secret) => [secret.length, ...base64Fragments(secret).map((f) => f.length)]));

  function redactText(text: string, nesting: number): string {
    if (text.length < shortest) return text;
    const out = text.replace(pattern, REDACTED);
    // Only a backslash escape can hide a secret from the pattern above in JSON text.
    if (nesting >= MAX_NESTED_JSON || !out.includes('\\')) return out;
    return redactJson(out, nesting);
  }

  /** Decodes JSON text and redacts every string in it; returns the text itself when nothing changed. */
  function redactJson(text: string, nesting: number): string {
    const start = text.trimStart()[0];
    if (start !== '{' && start !== '[' && start !== '"') return text;
    // Too deep to walk safely: such text is refused downstream anyway, so it goes out as nothing.
    if (jsonTooDeep(text, MAX_JSON_DEPTH)) return REDACTED;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return text;
    }
    let changed = false;
    const walk = (value: unknown): unknown => {
      if (typeof value === 'string') {
        const redacted = redactText(value, nesting + 1);
        if (redacted !== value) changed = true;
        return redacted;
      }
      if (Array.isArray(value)) return value.map(walk);
      if (typeof value === 'object' && value !== null) {
        // No prototype: a "__proto__" key stays an ordinary key.
        const out = Object.create(null) as Record<string, unknown>;
        for (const [key, item] of Object.entries(value)) out[walk(key) as string] = walk(item);
        return out;
      }
      return value;
    };
    const result = walk(parsed);
    return changed ? JSON.stringify(result) : text;
  }

  // The pattern is compiled on its first runs (to bytecode, then to machine code, for one-byte and
  // for two-byte text): ~15 ms for a few secrets, which would otherwise land on the first requests.
  for (const sample of ['compile', 'compile\u2026']) for (let i = 0; i < 3; i++) sample.replace(pattern, REDACTED);
  return (text) => redactText(text, 0);
}
