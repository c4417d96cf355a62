import { describe, expect, it } from 'vitest';
import { configSecrets, loadConfig as load, withDevDefaults } from '../../../src/config.ts';
import { PROFILES } from '../../../src/profiles/index.ts';

/** As `--dev` would run (open, and the simulator where no credential is set). */
const loadConfig = (env: Record<string, string | undefined>) => load(withDevDefaults(env));

const KEYS = { GATEWAY_API_KEYS: 'key-test-0123456789abcdef' };

describe('openai-responses configuration', () => {
  const openai = PROFILES.find((entry) => entry.profile.name === 'openai-responses');

  it("OPENAI_API_KEY alone means OpenAI's API, counts as an upstream (no simulator under --dev) and is a secret", () => {
    const config = load(withDevDefaults({ ...KEYS, OPENAI_API_KEY: 'sk-openai-test-key-123' }));
    expect(config.SIMULATOR).toBe(false);
    expect(openai?.endpoint(config)).toEqual({ baseUrl: 'https://api.openai.com/v1', credential: 'sk-openai-test-key-123' });
    expect(configSecrets(config)).toContain('sk-openai-test-key-123');
    const based = load(
      withDevDefaults({ ...KEYS, OPENAI_API_KEY: 'sk-openai-test-key-123', OPENAI_BASE_URL: 'http://127.0.0.1:9/openai/v1' }),
    );
    expect(openai?.endpoint(based)?.baseUrl).toBe('http://127.0.0.1:9/openai/v1');
    expect(openai?.endpoint(loadConfig({}))).toBeUndefined();
  });

  it('refuses OPENAI_BASE_URL without a key and a short key, without echoing it', () => {
    expect(() => load({ ...KEYS, SIMULATOR: 'true', OPENAI_BASE_URL: 'http://127.0.0.1:9/v1' })).toThrow(/OPENAI_API_KEY: required/);
    let message = '';
    try {
      load({ ...KEYS, OPENAI_API_KEY: 'sk-1' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/OPENAI_API_KEY/);
    expect(message).not.toContain('sk-1');
  });
});
