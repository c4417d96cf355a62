import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/config.ts';
import { PROFILES } from '../../src/profiles/index.ts';
import { loadWorkerConfig } from '../../src/worker/config.ts';

/** Most cases are about other variables: the open mode is asked for, as `npm run dev:worker` does. */
const env = (vars: Record<string, string>) => (vars.GATEWAY_API_KEYS ? vars : { GATEWAY_OPEN: 'true', ...vars });

describe('Worker configuration', () => {
  it('reads the shared variables and MAX_STREAM_MS, defaulting to the vendor URL', () => {
    const config = loadWorkerConfig(env({ UPSTREAM_TOKEN: 'token-1234', MAX_STREAM_MS: '60000' }));
    expect(PROFILES[0]?.endpoint(config)?.baseUrl).toBe('https://api.useapi.net/v3/midjourney');
    expect(config.MAX_STREAM_MS).toBe(60_000);
    expect(config.HEARTBEAT_MS).toBe(15_000);
  });

  it('needs at least one profile credential (there is no in-process simulator on Workers), and says which to set', () => {
    for (const vars of [{}, { UPSTREAM_URL: 'https://example.com/v3' }] as Record<string, string>[]) {
      const error = (() => {
        try {
          loadWorkerConfig(env(vars));
        } catch (err) {
          return err;
        }
        return undefined;
      })();
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toMatch(/UPSTREAM_TOKEN, FAL_KEY, OPENAI_API_KEY, REPLICATE_API_TOKEN: no profile configured/);
      expect((error as Error).message).not.toMatch(/SIMULATOR=true/);
    }
  });

  it.each([
    ['UPSTREAM_TOKEN', 'midjourney-v3'],
    ['FAL_KEY', 'fal-queue'],
    ['OPENAI_API_KEY', 'openai-responses'],
    ['REPLICATE_API_TOKEN', 'replicate'],
  ])('takes %s alone, and configures only its profile (%s)', (name, profile) => {
    const config = loadWorkerConfig(env({ [name]: 'credential-1234' }));
    expect(PROFILES.filter((entry) => entry.endpoint(config) !== undefined).map((entry) => entry.profile.name)).toEqual([profile]);
  });

  it('needs SUBSCRIBE_TOKEN_SECRET with API keys: isolates cannot share a random one', () => {
    expect(() => loadWorkerConfig(env({ UPSTREAM_TOKEN: 'token-1234', GATEWAY_API_KEYS: 'key-test-0123456789abcdef' }))).toThrow(
      ConfigError,
    );
  });

  it('rejects a bad MAX_STREAM_MS', () => {
    expect(() => loadWorkerConfig(env({ UPSTREAM_TOKEN: 'token-1234', MAX_STREAM_MS: '5' }))).toThrow(/MAX_STREAM_MS/);
  });

  it('refuses to run without API keys unless GATEWAY_OPEN=true (a deploy without keys is not an open gateway)', () => {
    expect(() => loadWorkerConfig({ UPSTREAM_TOKEN: 'token-1234' })).toThrow(/GATEWAY_API_KEYS: required/);
    expect(loadWorkerConfig({ UPSTREAM_TOKEN: 'token-1234', GATEWAY_OPEN: 'true' }).GATEWAY_OPEN).toBe(true);
  });

  it.each(['production', 'Production', 'prod', ' production'])('never runs open with NODE_ENV=%j', (nodeEnv) => {
    expect(() => loadWorkerConfig({ UPSTREAM_TOKEN: 'token-1234', GATEWAY_OPEN: 'true', NODE_ENV: nodeEnv })).toThrow(/GATEWAY_OPEN/);
  });

  it('has no simulator to fall back to', () => {
    expect(() => loadWorkerConfig(env({ SIMULATOR: 'true' }))).toThrow(/SIMULATOR/);
  });
});
