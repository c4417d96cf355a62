import { describe, expect, it } from 'vitest';
import { loadConfig, withDevDefaults } from '../../src/config.ts';

// The variables of the follower's idle limit and the shutdown drain (kept apart from
// config.test.ts so each concern's checks stay small).
describe('UPSTREAM_IDLE_MS and DRAIN_MS', () => {
  it('default to 5 minutes and 5 seconds', () => {
    const config = loadConfig(withDevDefaults({}));
    expect(config.UPSTREAM_IDLE_MS).toBe(300_000);
    expect(config.DRAIN_MS).toBe(5_000);
  });

  it('accept a drain of 0 (all at once)', () => {
    expect(loadConfig(withDevDefaults({ DRAIN_MS: '0', UPSTREAM_IDLE_MS: '100' }))).toMatchObject({ DRAIN_MS: 0, UPSTREAM_IDLE_MS: 100 });
  });

  it.each([
    [{ UPSTREAM_IDLE_MS: '50' }, 'UPSTREAM_IDLE_MS'],
    [{ UPSTREAM_IDLE_MS: 'soon' }, 'UPSTREAM_IDLE_MS'],
    [{ DRAIN_MS: '-1' }, 'DRAIN_MS'],
    [{ DRAIN_MS: '600000' }, 'DRAIN_MS'],
  ])('refuse %j, naming the variable', (env, name) => {
    expect(() => loadConfig(env)).toThrow(name);
  });
});
