import { SignJWT } from 'jose';
import { TOKEN_AUDIENCE } from '../../src/core/auth/subscribe-token.ts';

export const API_KEY = 'key-test-0123456789abcdef';
export const TOKEN_SECRET = 'secret-for-tests-0123456789abcdef-xyz';

/** Env for a gateway with access control on. */
export const SECURED: Record<string, string> = { GATEWAY_API_KEYS: API_KEY, SUBSCRIBE_TOKEN_SECRET: TOKEN_SECRET };

export const withKey = (headers: Record<string, string> = {}) => ({ ...headers, Authorization: `Bearer ${API_KEY}` });

/** A token signed with the test secret and any claims (for expired and forged cases). */
export function signToken(claims: { jobs: unknown; exp: number; iat?: number }, secret = TOKEN_SECRET): Promise<string> {
  return new SignJWT({ jobs: claims.jobs })
    .setProtectedHeader({ alg: 'HS256' })
    .setAudience(TOKEN_AUDIENCE)
    .setIssuedAt(claims.iat ?? claims.exp - 60)
    .setExpirationTime(claims.exp)
    .sign(new TextEncoder().encode(secret));
}

/** Creates a job with stream:false and an API key; returns its id and subscribe token. */
export async function createWithKey(base: string, prompt: string, extra: Record<string, unknown> = {}) {
  const response = await fetch(`${base}/v3/midjourney/jobs/imagine`, {
    method: 'POST',
    headers: withKey({ 'Content-Type': 'application/json' }),
    body: JSON.stringify({ prompt, stream: false, ...extra }),
  });
  if (response.status !== 201) throw new Error(`create failed: ${response.status} ${await response.text()}`);
  const job = (await response.json()) as { jobid: string; subscribe_token: string; stream_url: string };
  return { jobId: job.jobid, token: job.subscribe_token, streamUrl: job.stream_url, header: response.headers.get('x-subscribe-token') };
}

/** Opens an SSE request and keeps it open until close() (to hold a subscriber slot). */
export async function holdStream(url: string, headers: Record<string, string> = {}) {
  const controller = new AbortController();
  const response = await fetch(url, { headers, signal: controller.signal });
  return {
    response,
    close() {
      controller.abort();
    },
  };
}

const unicodeEscaped = (text: string, upper: boolean) =>
  [...text].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')[upper ? 'toUpperCase' : 'toLowerCase']()}`).join('');
const everyByte = (text: string, upper: boolean) =>
  [...Buffer.from(text)].map((b) => `%${b.toString(16).padStart(2, '0')[upper ? 'toUpperCase' : 'toLowerCase']()}`).join('');
const base64 = (text: string) => Buffer.from(text).toString('base64');

/**
 * JSON string literals (quotes included, to paste into JSON text) that a consumer decodes back to
 * `secret`: JSON escapes (every character, a mix with raw ones, `\/`), and, as plain strings,
 * percent-encoding, hex and base64 (alone, `Bearer`, Basic `user:`, URL-safe, any alignment).
 */
export function hostileJsonStrings(secret: string): string[] {
  const half = [...secret].map((c, i) => (i % 2 ? unicodeEscaped(c, i % 4 === 1) : c.replace(/["\\]/g, '\\$&'))).join('');
  const plain = [
    secret,
    `Bearer ${secret}`,
    everyByte(secret, true),
    everyByte(secret, false),
    encodeURIComponent(secret),
    Buffer.from(secret).toString('hex'),
    Buffer.from(secret).toString('hex').toUpperCase(),
    base64(secret),
    base64(`Bearer ${secret}`),
    `Basic ${base64(`user:${secret}`)}`,
    base64(`ab:${secret}`).replace(/=+$/, ''),
    Buffer.from(`{"token":"${secret}"}`).toString('base64url'),
  ];
  return [
    `"${unicodeEscaped(secret, true)}"`,
    `"${unicodeEscaped(secret, false)}"`,
    `"${half}"`,
    `"${JSON.stringify(secret).slice(1, -1).replace(/\//g, '\\/')}"`,
    `"${base64(`xyz${secret}`).replace(/\//g, '\\/')}"`,
    ...plain.map((s) => JSON.stringify(s)),
  ];
}
