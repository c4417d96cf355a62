import { describe, expect, it } from 'vitest';
import { configSecrets, loadConfig as load, withDevDefaults } from '../../src/config.ts';
import { loadWorkerConfig } from '../../src/worker/config.ts';

const loadConfig = (env: Record<string, string | undefined>) => load(withDevDefaults(env));
const KEY = 'pub-key-0123456789abcdef';

describe('PUBLISHERS', () => {
  it('reads namespaces and keys (a namespace may have several), every key a secret', () => {
    const config = loadConfig({ PUBLISHERS: ` render:${KEY}, render:${KEY}-2 ,batch:${KEY}-3` });
    expect(config.PUBLISHERS).toEqual([
      { namespace: 'render', key: KEY },
      { namespace: 'render', key: `${KEY}-2` },
      { namespace: 'batch', key: `${KEY}-3` },
    ]);
    expect(configSecrets(config)).toEqual(expect.arrayContaining([KEY, `${KEY}-2`, `${KEY}-3`]));
    expect(loadConfig({}).PUBLISHERS).toEqual([]);
    expect(config.PUBLISH_MAX_EVENT_BYTES).toBe(65_536);
    expect(config.PUBLISH_MAX_EVENTS).toBe(1000);
    expect(config.PUBLISH_RATE_PER_S).toBe(50);
  });

  it('refuses bad entries, a key given twice or shared with an API key, never echoing a key', () => {
    const problems = [
      [`Render:${KEY}`, /PUBLISHERS: each entry must be <namespace>:<key>/],
      [`render:short`, /PUBLISHERS: each entry must be <namespace>:<key>/],
      [KEY, /PUBLISHERS: each entry must be <namespace>:<key>/],
      [`a:${KEY},b:${KEY}`, /PUBLISHERS: a key is given twice/],
    ] as const;
    for (const [value, message] of problems) {
      let error: unknown;
      try {
        loadConfig({ PUBLISHERS: value });
      } catch (err) {
        error = err;
      }
      expect(String(error)).toMatch(message);
      expect(String(error)).not.toContain(KEY);
      expect(String(error)).not.toContain('short');
    }
    expect(() => load({ GATEWAY_API_KEYS: KEY, SIMULATOR: 'true', PUBLISHERS: `render:${KEY}` })).toThrow(
      'PUBLISHERS: a publisher key must differ from every API key',
    );
  });

  it("refuses a namespace that is a profile's name, on Node and on the Worker", () => {
    expect(() => loadConfig({ PUBLISHERS: `fal-queue:${KEY}` })).toThrow(
      "PUBLISHERS: namespace fal-queue is a profile's name; pick another",
    );
    expect(() =>
      loadWorkerConfig({ GATEWAY_OPEN: 'true', OPENAI_API_KEY: 'sk-test-0123456789', PUBLISHERS: `openai-responses:${KEY}` }),
    ).toThrow("namespace openai-responses is a profile's name");
  });
});
