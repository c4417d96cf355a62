import { describe, expect, it } from 'vitest';
import { ConfigError, configSecrets, loadConfig as load, withDevDefaults } from '../../src/config.ts';
import { redisTargetOf } from '../../src/node/redis-connect.ts';

const loadConfig = (env: Record<string, string | undefined>) => load(withDevDefaults(env));
const SEEDS = 'redis-a:7001, redis-b.internal:7002,10.0.0.3:7003';

describe('Redis Cluster configuration', () => {
  it('reads the seeds, credentials and TLS into a cluster target; the password is a secret', () => {
    const config = loadConfig({ REDIS_CLUSTER_NODES: SEEDS, REDIS_USERNAME: 'relay', REDIS_PASSWORD: 'pw-0123456789', REDIS_TLS: 'true' });
    expect(config.REDIS_CLUSTER_NODES).toEqual(['redis-a:7001', 'redis-b.internal:7002', '10.0.0.3:7003']);
    expect(redisTargetOf(config)).toEqual({
      cluster: {
        nodes: ['redis-a:7001', 'redis-b.internal:7002', '10.0.0.3:7003'],
        username: 'relay',
        password: 'pw-0123456789',
        tls: true,
      },
    });
    expect(configSecrets(config)).toContain('pw-0123456789');
  });

  it('means one Redis with REDIS_URL, and none with neither', () => {
    expect(redisTargetOf(loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379' }))).toEqual({ url: 'redis://127.0.0.1:6379' });
    expect(redisTargetOf(loadConfig({}))).toBeUndefined();
    expect(loadConfig({}).REDIS_TLS).toBe(false);
  });

  it.each([
    [{ REDIS_CLUSTER_NODES: 'redis-a' }, 'REDIS_CLUSTER_NODES: each entry must be host:port'],
    [{ REDIS_CLUSTER_NODES: 'redis://redis-a:7001' }, 'REDIS_CLUSTER_NODES: each entry must be host:port'],
    [{ REDIS_CLUSTER_NODES: 'redis-a:7001,redis b:7002' }, 'REDIS_CLUSTER_NODES: each entry must be host:port'],
    [{ REDIS_CLUSTER_NODES: SEEDS, REDIS_URL: 'redis://127.0.0.1:6379' }, 'REDIS_CLUSTER_NODES: cannot be combined with REDIS_URL'],
    [{ REDIS_PASSWORD: 'pw-0123456789' }, 'REDIS_PASSWORD: only with REDIS_CLUSTER_NODES'],
    [{ REDIS_USERNAME: 'relay', REDIS_URL: 'redis://127.0.0.1:6379' }, 'REDIS_USERNAME: only with REDIS_CLUSTER_NODES'],
    [{ REDIS_TLS: 'true' }, 'REDIS_TLS: only with REDIS_CLUSTER_NODES'],
    [{ REDIS_TLS: 'yes', REDIS_CLUSTER_NODES: SEEDS }, 'REDIS_TLS'],
  ])('rejects %j naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('never echoes the password in an error', () => {
    try {
      loadConfig({ REDIS_PASSWORD: 'pw-secret-value', REDIS_CLUSTER_NODES: 'not a node' });
      expect.unreachable();
    } catch (err) {
      expect(String(err)).toContain('REDIS_CLUSTER_NODES');
      expect(String(err)).not.toContain('pw-secret-value');
    }
  });
});
