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
    expect(loadConfig({ UPSTREAM_TOKEN: 'tok' }).UPSTREAM_URL).toBe(VENDOR_URL);
  });

  it('ignores empty values and unrelated variables', () => {
    expect(loadConfig({ PORT: '', PATH: '/bin', HOME: '/root' }).PORT).toBe(8080);
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ HEARTBEAT_MS: '5' }, 'HEARTBEAT_MS'],
    [{ HISTORY_TTL_S: '-1' }, 'HISTORY_TTL_S'],
    [{ UPSTREAM_URL: 'ftp://x', UPSTREAM_TOKEN: 't' }, 'UPSTREAM_URL'],
    [{ REDIS_URL: 'http://localhost' }, 'REDIS_URL'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ UPSTREAM_URL: 'https://api.example.com' }, 'UPSTREAM_TOKEN'],
  ])('rejects %j naming the variable', (env, name) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(name);
  });

  it('never echoes a secret value in its error', () => {
    try {
      loadConfig({ UPSTREAM_TOKEN: 'tok-secret-value', PORT: 'x' });
    } catch (err) {
      expect(String(err)).not.toContain('tok-secret-value');
    }
  });
});
