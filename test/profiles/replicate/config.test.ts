import { describe, expect, it } from 'vitest';
import { configSecrets, loadConfig as load, withDevDefaults } from '../../../src/config.ts';
import { PROFILES } from '../../../src/profiles/index.ts';
import { REPLICATE_STREAM_ORIGINS, REPLICATE_VENDOR_URL } from '../../../src/profiles/replicate/profile.ts';

/** As `--dev` would run (open, and the simulator where no credential is set). */
const loadConfig = (env: Record<string, string | undefined>) => load(withDevDefaults(env));

describe('replicate configuration', () => {
  it('REPLICATE_API_TOKEN alone means Replicate’s API and its streaming hosts, is a secret, and is no simulator in --dev', () => {
    const entry = PROFILES.find((candidate) => candidate.profile.name === 'replicate')!;
    const config = loadConfig({ REPLICATE_API_TOKEN: 'r8_token-12345' });
    expect(config.SIMULATOR).toBe(false);
    expect(entry.endpoint(config)).toEqual({
      baseUrl: REPLICATE_VENDOR_URL,
      credential: 'r8_token-12345',
      origins: REPLICATE_STREAM_ORIGINS,
    });
    expect(configSecrets(config)).toContain('r8_token-12345');
    // Another API (a stand-in, a simulator): the token goes to none of Replicate's streaming hosts.
    const elsewhere = loadConfig({ REPLICATE_API_TOKEN: 'r8_token-12345', REPLICATE_BASE_URL: 'https://replicate.example/v1' });
    expect(entry.endpoint(elsewhere)).toEqual({ baseUrl: 'https://replicate.example/v1', credential: 'r8_token-12345' });
    expect(() => loadConfig({ REPLICATE_BASE_URL: 'https://replicate.example/v1' })).toThrow(
      'REPLICATE_API_TOKEN: required when REPLICATE_BASE_URL is set',
    );
    expect(() => loadConfig({ REPLICATE_API_TOKEN: 'short' })).toThrow('REPLICATE_API_TOKEN');
    expect(entry.endpoint(loadConfig({}))).toBeUndefined();
    expect(entry.endpointEnv('http://sim/replicate/v1', 'k')).toEqual({
      REPLICATE_BASE_URL: 'http://sim/replicate/v1',
      REPLICATE_API_TOKEN: 'k',
    });
  });
});
