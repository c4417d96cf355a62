import { describe, expect, it } from 'vitest';
import { loadConfig as load, withDevDefaults } from '../../../src/config.ts';
import { PROFILES } from '../../../src/profiles/index.ts';
import { MIDJOURNEY_VENDOR_URL } from '../../../src/profiles/midjourney-v3/profile.ts';

/** As `--dev` would run (open, and the simulator where no credential is set). */
const loadConfig = (env: Record<string, string | undefined>) => load(withDevDefaults(env));

describe('midjourney-v3 configuration', () => {
  it('uses the vendor URL when only a token is set', () => {
    expect(PROFILES[0]?.endpoint(loadConfig({ UPSTREAM_TOKEN: 'tok-12345' }))?.baseUrl).toBe(MIDJOURNEY_VENDOR_URL);
  });
});
