import { describe, expect, it } from 'vitest';
import { configSecrets, loadConfig as load, withDevDefaults } from '../../../src/config.ts';
import { PROFILES } from '../../../src/profiles/index.ts';
import { FAL_DIRECT_ORIGINS } from '../../../src/profiles/fal-queue/paths.ts';
import { FAL_QUEUE_VENDOR_URL } from '../../../src/profiles/fal-queue/profile.ts';

/** As `--dev` would run (open, and the simulator where no credential is set). */
const loadConfig = (env: Record<string, string | undefined>) => load(withDevDefaults(env));

describe('fal-queue configuration', () => {
  it('fal-queue: FAL_KEY alone means fal own queue host, is a secret, and is no simulator in --dev', () => {
    const fal = PROFILES.find((entry) => entry.profile.name === 'fal-queue')!;
    const config = loadConfig({ FAL_KEY: 'fal-key-12345' });
    expect(config.SIMULATOR).toBe(false);
    expect(fal.endpoint(config)).toEqual({ baseUrl: FAL_QUEUE_VENDOR_URL, credential: 'fal-key-12345', origins: FAL_DIRECT_ORIGINS });
    expect(PROFILES[0]?.endpoint(config)).toBeUndefined();
    expect(configSecrets(config)).toContain('fal-key-12345');
    const elsewhere = loadConfig({ FAL_KEY: 'fal-key-12345', FAL_QUEUE_URL: 'https://queue.example/q' });
    expect(fal.endpoint(elsewhere)?.baseUrl).toBe('https://queue.example/q');
    // A queue that is not fal's own (a stand-in, a simulator): the key goes to none of fal's other hosts.
    expect(fal.endpoint(elsewhere)?.origins).toBeUndefined();
    expect(() => loadConfig({ FAL_QUEUE_URL: 'https://queue.example/q' })).toThrow('FAL_KEY: required when FAL_QUEUE_URL is set');
    expect(() => loadConfig({ FAL_KEY: 'short' })).toThrow('FAL_KEY');
    expect(fal.endpoint(loadConfig({}))).toBeUndefined();
  });
});
