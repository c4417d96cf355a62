import { describe, expect, it } from 'vitest';
import { checkCreateLimits, checkJobId, checkVerb, parseTokenRequest } from '../../src/http/validate.ts';

describe('input hardening', () => {
  it('accepts vendor job ids and rejects anything that could escape a URL, a Redis key, a header or an SSE field', () => {
    expect(checkJobId('j1125123528007064008i-u12345-c1247014089432790157-bot:midjourney')).toMatch(/^j1125/);
    for (const bad of [
      '',
      '../etc',
      'a/b',
      'a%2fb',
      'a\r\nSet-Cookie: x',
      'a\nid: 9',
      'a b',
      '{a}',
      'a*',
      '.hidden',
      ':x',
      'a'.repeat(201),
      'jé',
      undefined,
    ]) {
      expect(() => checkJobId(bad), JSON.stringify(bad)).toThrow(/jobid must be/);
    }
  });

  it('accepts only known verbs', () => {
    expect(checkVerb('imagine')).toBe('imagine');
    for (const bad of ['Imagine', '../imagine', 'imagine\n', 'constructor', '__proto__', undefined]) expect(() => checkVerb(bad)).toThrow();
  });

  it('limits the prompt and drops replyUrl unless allowed', () => {
    const options = { maxPromptChars: 10, allowReplyUrl: false };
    expect(checkCreateLimits({ prompt: 'short', replyUrl: 'https://x', replyRef: 'r' }, options)).toEqual({
      prompt: 'short',
      replyRef: 'r',
    });
    expect(checkCreateLimits({ prompt: 'short', replyUrl: 'https://x' }, { ...options, allowReplyUrl: true })).toHaveProperty('replyUrl');
    expect(() => checkCreateLimits({ prompt: 'x'.repeat(11) }, options)).toThrow(/10 characters/);
    expect(() => checkCreateLimits({ prompt: ['x'] }, options)).toThrow(/string/);
  });

  it('parses token requests strictly', () => {
    expect(parseTokenRequest('{"jobs":["a","a","b"],"ttl_s":60}', 100)).toEqual({ jobs: ['a', 'b'], ttlS: 60 });
    for (const bad of [
      '',
      '[]',
      '{"jobs":"a"}',
      '{"jobs":[]}',
      '{"jobs":[1]}',
      '{"jobs":["a/b"]}',
      '{"jobs":["a"],"ttl_s":1.5}',
      '{"jobs":["a"],"ttl_s":999999999}',
    ]) {
      expect(() => parseTokenRequest(bad, 100), bad).toThrow();
    }
    expect(() => parseTokenRequest(JSON.stringify({ jobs: Array.from({ length: 101 }, (_, i) => `j${i}`) }), 100)).toThrow(/1-100/);
  });
});
