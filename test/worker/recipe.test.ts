import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config.ts';
import { workerRecipe } from '../../src/worker/recipe.ts';
import { midjourneyV3 } from '../../src/profiles/midjourney-v3/profile.ts';

describe('the Worker recipe', () => {
  it('is built once per environment; its one redactor knows every configured secret', () => {
    const env = {
      UPSTREAM_TOKEN: 'upstream-token-1234',
      FAL_KEY: 'fal-key-5678abcd',
      GATEWAY_API_KEYS: 'key-test-0123456789abcdef',
      SUBSCRIBE_TOKEN_SECRET: 's'.repeat(32),
    };
    const recipe = workerRecipe(env);
    expect(workerRecipe(env)).toBe(recipe);
    for (const secret of Object.values(env)) expect(recipe.redact(`x ${secret} y`)).toBe('x [redacted] y');
    expect(recipe.config.MAX_STREAM_MS).toBe(5 * 60_000);
    expect(typeof recipe.upstream(midjourneyV3).send).toBe('function');
  });

  it('refuses a misconfigured environment every time (a refusal is not kept)', () => {
    const env = { UPSTREAM_TOKEN: 'upstream-token-1234' };
    expect(() => workerRecipe(env)).toThrow(ConfigError);
    expect(() => workerRecipe(env)).toThrow(/GATEWAY_API_KEYS/);
  });
});
