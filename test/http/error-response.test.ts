import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { RelayError } from '../../src/core/errors.ts';
import type { Logger } from '../../src/core/logger.ts';
import { createRedactor } from '../../src/core/redact.ts';
import { type ErrorShape, createErrorHandler, errorAnswer } from '../../src/http/error-response.ts';

const SECRET = 'vendor-key-0123456789';

/** A vendor's shape: its own body, its own auth scheme, its own kind of error passed on as is. */
class VendorSaid extends Error {}
const vendorShape: ErrorShape = {
  body: (err) => ({ detail: err.message }),
  authScheme: 'Key',
  vendorError: (err) => (err instanceof VendorSaid ? { status: 422, body: { vendor: err.message }, retryAfterS: 3 } : undefined),
};

describe('the one error mapping', () => {
  it('answers a RelayError with its status, Retry-After and WWW-Authenticate, in the gateway shape by default', () => {
    expect(errorAnswer(new RelayError('rate_limited', 'slow down', { retryAfterS: 7 }))).toEqual({
      status: 429,
      body: { error: 'slow down', code: 'rate_limited' },
      headers: { 'Retry-After': '7' },
    });
    expect(errorAnswer(new RelayError('unauthorized', 'who are you'))?.headers).toEqual({
      'WWW-Authenticate': 'Bearer realm="sse-relay"',
    });
  });

  it("frames errors in a profile's shape, its vendor errors as they are", () => {
    expect(errorAnswer(new RelayError('unauthorized', 'no key'), vendorShape)).toEqual({
      status: 401,
      body: { detail: 'no key' },
      headers: { 'WWW-Authenticate': 'Key realm="sse-relay"' },
    });
    expect(errorAnswer(new VendorSaid('bad prompt'), vendorShape)).toEqual({
      status: 422,
      body: { vendor: 'bad prompt' },
      headers: { 'Retry-After': '3' },
    });
    expect(errorAnswer(new VendorSaid('bad prompt'))).toBeUndefined();
    expect(errorAnswer(new Error('bug'), vendorShape)).toBeUndefined();
  });

  it('answers anything else 500 without a word of it, and logs it redacted with its cause', async () => {
    const lines: Record<string, unknown>[] = [];
    const keep = (fields: Record<string, unknown>) => void lines.push(fields);
    const logger: Logger = { debug: keep, info: keep, warn: keep, error: keep };
    const onError = createErrorHandler({ logger, redact: createRedactor([SECRET]) });
    const app = new Hono();
    app.get('/boom', () => {
      throw new Error('could not reach the vendor', { cause: new Error(`refused ${SECRET}`) });
    });
    app.onError(onError(vendorShape));
    const response = await app.request('/boom');
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ error: 'internal error', code: 'internal' });
    expect(lines).toHaveLength(1);
    expect(lines[0]?.path).toBe('/boom');
    expect(String(lines[0]?.err)).toContain('caused by: Error: refused [redacted]');
  });
});
