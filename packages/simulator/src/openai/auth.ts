import type { MiddlewareHandler } from 'hono';
import { bearerToken } from '../http.ts';
import { openaiError } from './errors.ts';

/** Hono environment of the OpenAI routes: the API key the caller sent. */
export type OpenAIEnv = { Variables: { apiKey: string } };

const KEYS_PAGE = 'You can find your API key at https://platform.openai.com/account/api-keys.';

/**
 * `Authorization: Bearer <key>` check with the vendor's two 401s: no key at all (code null), or a key
 * other than `token` when one is configured (`invalid_api_key`, the key masked as the vendor masks it).
 */
export function openaiAuth(token?: string): MiddlewareHandler<OpenAIEnv> {
  return async (c, next) => {
    const sent = bearerToken(c.req.header('authorization'));
    if (!sent) {
      return openaiError(401, {
        message:
          "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        type: 'invalid_request_error',
        param: null,
        code: null,
      });
    }
    if (token !== undefined && sent !== token) {
      return openaiError(401, {
        message: `Incorrect API key provided: ${maskKey(sent)}. ${KEYS_PAGE}`,
        type: 'invalid_request_error',
        param: null,
        code: 'invalid_api_key',
      });
    }
    c.set('apiKey', sent);
    await next();
  };
}

/** The vendor shows a wrong key's first 3 and last 4 characters; short keys are starred out entirely. */
export function maskKey(key: string): string {
  if (key.length < 12) return '*'.repeat(key.length);
  return `${key.slice(0, 3)}${'*'.repeat(key.length - 7)}${key.slice(-4)}`;
}
