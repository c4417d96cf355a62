import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, VENDOR_URL } from '../../src/core/config.ts';

describe('loadConfig', () => {
  it('has working defaults: simulator upstream, memory bus, port 8080', () => {
    const config = loadConfig({});
    expect(config.PORT).toBe(8080);
    expect(config.UPSTREAM_URL).toBeUndefined();
    expect(config.REDIS_URL).toBeUndefined();
    expect(config.HEARTBEAT_MS).toBe(15_000);
    expect(config.HISTORY_TTL_S).toBe(86_400);
    expect(config.HISTORY_MAX_EVENTS).toBe(10_000);
  });

  it('uses the vendor URL when only a token is set', () => {
    expect(loadConfig({ UPSTREAM_TOKEN: 'tok-12345' }).UPSTREAM_URL).toBe(VENDOR_URL);
  });

  it('ignores empty values and unrelated variables', () => {
    expect(loadConfig({ PORT: '', PATH: '/bin', HOME: '/root' }).PORT).toBe(8080);
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ HEARTBEAT_MS: '5' }, 'HEARTBEAT_MS'],
    [{ HISTORY_TTL_S: '-1' }, 'HISTORY_TTL_S'],
    [{ UPSTREAM_URL: 'ftp://x', UPSTREAM_TOKEN: 'token-123' }, 'UPSTREAM_URL'],
    [{ REDIS_URL: 'http://localhost' }, 'REDIS_URL'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ UPSTREAM_URL: 'https://api.example.com' }, 'UPSTREAM_TOKEN'],
    [{ UPSTREAM_TOKEN: 'short' }, 'UPSTREAM_TOKEN'],
    [{ GATEWAY_API_KEYS: 'short' }, 'GATEWAY_API_KEYS'],
    [{ SUBSCRIBE_TOKEN_SECRET: 'too-short' }, 'SUBSCRIBE_TOKEN_SECRET'],
    [{ CORS_ORIGINS: 'https://app.example.com/path' }, 'CORS_ORIGINS'],
    [{ CORS_ORIGINS: '*' }, 'CORS_ORIGINS'],
    [{ SUBSCRIBE_PUBLIC: 'yes' }, 'SUBSCRIBE_PUBLIC'],
    [{ MAX_SUBSCRIBERS_PER_IP: '-1' }, 'MAX_SUBSCRIBERS_PER_IP'],
    [{ NODE_ENV: 'production', SUBSCRIBE_TOKEN_SECRET: 'x'.repeat(32) }, 'GATEWAY_API_KEYS'],
    [{ NODE_ENV: 'production', GATEWAY_API_KEYS: 'k'.repeat(16) }, 'SUBSCRIBE_TOKEN_SECRET'],
  ])('rejects %j naming the variable', (env, name) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(name);
  });

  it('never echoes a secret value in its error', () => {
    for (const env of [
      { UPSTREAM_TOKEN: 'tok-secret-value', PORT: 'x' },
      { GATEWAY_API_KEYS: 'good-key-0123456789,tok-secret-value bad' },
      { SUBSCRIBE_TOKEN_SECRET: 'tok-secret-value' },
    ]) {
      expect(() => loadConfig(env)).toThrow(ConfigError);
      try {
        loadConfig(env);
      } catch (err) {
        expect(String(err)).not.toContain('tok-secret-value');
        expect(String(err)).not.toContain('good-key');
      }
    }
  });

  it('parses the security settings with safe defaults (open in development)', () => {
    const config = loadConfig({});
    expect(config.GATEWAY_API_KEYS).toEqual([]);
    expect(config.SUBSCRIBE_PUBLIC).toBe(false);
    expect(config.CORS_ORIGINS).toEqual([]);
    expect(config.ALLOW_REPLY_URL).toBe(false);
    expect(config.MAX_PROMPT_CHARS).toBe(5000);
    expect(config.TRUST_PROXY).toBe(false);
    const set = loadConfig({
      NODE_ENV: 'production',
      GATEWAY_API_KEYS: ' key-aaaaaaaaaaaaaaaa , key-bbbbbbbbbbbbbbbb ,',
      SUBSCRIBE_TOKEN_SECRET: 'x'.repeat(32),
      CORS_ORIGINS: 'https://app.example.com,http://localhost:3000',
    });
    expect(set.GATEWAY_API_KEYS).toEqual(['key-aaaaaaaaaaaaaaaa', 'key-bbbbbbbbbbbbbbbb']);
    expect(set.CORS_ORIGINS).toEqual(['https://app.example.com', 'http://localhost:3000']);
  });
});
