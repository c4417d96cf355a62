/** Deepest JSON nesting accepted from the upstream (events, replies). */
export const MAX_JSON_DEPTH = 64;

/** Deepest nesting of a request body: well under MAX_JSON_DEPTH, since the upstream echoes the request inside its job object. */
export const MAX_BODY_DEPTH = 32;

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Whether JSON text nests objects/arrays deeper than `max`, found by one scan without parsing
 * (strings skipped). Deeper values would overflow the stack of a recursive walk or
 * `JSON.stringify` later, so they are refused where they come in.
 */
export function jsonTooDeep(text: string, max = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > max) return true;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
    }
  }
  return false;
}
