import { describe, expect, it } from 'vitest';
import { checkJobId, parseTokenRequest } from '../../src/http/validate.ts';
import { checkCreateLimits, checkVerb } from '../../src/profiles/midjourney-v3/request.ts';

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
    expect(checkCreateLimits('imagine', { prompt: 'short', replyUrl: 'https://x', replyRef: 'r' }, options)).toEqual({
      prompt: 'short',
      replyRef: 'r',
    });
    expect(checkCreateLimits('imagine', { prompt: 'short', replyUrl: 'https://x' }, { ...options, allowReplyUrl: true })).toHaveProperty(
      'replyUrl',
    );
    expect(() => checkCreateLimits('imagine', { prompt: 'x'.repeat(11) }, options)).toThrow(/10 characters/);
    expect(() => checkCreateLimits('imagine', { prompt: ['x'] }, options)).toThrow(/string/);
  });

  it('forwards only the documented fields of each verb: any other spelling of replyUrl, and unknown fields, are dropped', () => {
    const options = { maxPromptChars: 100, allowReplyUrl: false };
    const hostile = {
      replyURL: 'https://evil',
      reply_url: 'https://evil',
      ReplyUrl: 'https://evil',
      'replyUrl ': 'https://evil',
      webhook: 'https://evil',
      __proto__: { replyUrl: 'https://inherited' },
      channel: 'c1',
      replyRef: 'r1',
    };
    expect(checkCreateLimits('imagine', { prompt: 'p', ...hostile }, options)).toEqual({ prompt: 'p', channel: 'c1', replyRef: 'r1' });
    expect(checkCreateLimits('button', { jobId: 'j1', button: 'U1', mask: 'm', prompt: 'p', imageUrl: 'x', ...hostile }, options)).toEqual({
      jobId: 'j1',
      button: 'U1',
      mask: 'm',
      prompt: 'p',
      channel: 'c1',
      replyRef: 'r1',
    });
    expect(checkCreateLimits('blend', { imageUrl_1: 'a', imageUrl_5: 'e', imageUrl_6: 'f', blendDimensions: 'Square' }, options)).toEqual({
      imageUrl_1: 'a',
      imageUrl_5: 'e',
      blendDimensions: 'Square',
    });
    expect(checkCreateLimits('describe', { imageUrl: 'u', mask: 'm' }, options)).toEqual({ imageUrl: 'u' });
    expect(checkCreateLimits('seed', { jobId: 'j1', button: 'U1' }, options)).toEqual({ jobId: 'j1' });
    expect(checkCreateLimits('fast', { channel: 'c', prompt: 'p', extra: 1 }, options)).toEqual({ channel: 'c' });
    expect(checkCreateLimits('imagine', { prompt: 'p', replyUrl: 'https://ok' }, { ...options, allowReplyUrl: true })).toEqual({
      prompt: 'p',
      replyUrl: 'https://ok',
    });
  });

  it('parses token requests strictly', () => {
    expect(parseTokenRequest('{"jobs":["a","a","b"],"ttl_s":60}', 100, ['midjourney-v3'])).toMatchObject({ jobs: ['a', 'b'], ttlS: 60 });
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
