import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { loadConfig, withDevDefaults } from '../../src/config.ts';
import { startGateway } from '../../src/node/gateway.ts';
import { createNodeProcess, loadNodeConfig, simulatorEnv } from '../../src/node/recipe.ts';

const devConfig = (env: Record<string, string> = {}) =>
  loadConfig(withDevDefaults({ PORT: '0', HOST: '127.0.0.1', DRAIN_MS: '0', LOG_LEVEL: 'debug', ...env }));

describe('the Node recipe', () => {
  it('decides the simulator token once, and the process failure lines redact it (and its causes)', () => {
    const node = createNodeProcess(devConfig());
    const token = node.simulatorToken as string;
    expect(token).toMatch(/^sim-/);
    const line = node.failureLine('uncaught exception', new Error('boom', { cause: new Error(`the upstream echoed ${token}`) }));
    expect(line).not.toContain(token);
    expect(JSON.parse(line)).toMatchObject({ level: 50, msg: 'uncaught exception' });
    expect(JSON.parse(line).err).toContain('caused by: Error: the upstream echoed [redacted]');
    expect(node.failureLine('unhandled rejection', `rejected with ${token}`)).not.toContain(token);
  });

  it('redacts every configured secret and REDIS_URL; no simulator token without the simulator', () => {
    const config = devConfig({
      UPSTREAM_TOKEN: 'upstream-token-1234',
      OPENAI_API_KEY: 'openai-key-5678',
      REDIS_URL: 'redis://:hunter2-password@127.0.0.1:6390',
      GATEWAY_API_KEYS: 'key-test-0123456789abcdef',
      SUBSCRIBE_TOKEN_SECRET: 's'.repeat(32),
    });
    const node = createNodeProcess(config);
    expect(node.simulatorToken).toBeUndefined();
    for (const secret of [
      'upstream-token-1234',
      'openai-key-5678',
      config.REDIS_URL as string,
      'key-test-0123456789abcdef',
      's'.repeat(32),
    ]) {
      expect(node.redact(`x ${secret} y`)).toBe('x [redacted] y');
    }
  });

  it('reads --dev as npm start does', () => {
    expect(loadNodeConfig(['node', 'main.ts', '--dev'], { PORT: '0' }).SIMULATOR).toBe(true);
    expect(() => loadNodeConfig(['node', 'main.ts'], { PORT: '0' })).toThrow(/GATEWAY_API_KEYS/);
  });

  it('names the simulator in every profile variables', () => {
    const env = simulatorEnv('http://127.0.0.1:9', 'sim-token-1234');
    expect(env).toMatchObject({ UPSTREAM_URL: 'http://127.0.0.1:9/v3/midjourney', UPSTREAM_TOKEN: 'sim-token-1234' });
    expect(env.FAL_KEY).toBe('sim-token-1234');
    expect(env.OPENAI_API_KEY).toBe('sim-token-1234');
  });

  it('a gateway given the process recipe logs through its one redactor, which knows the simulator token', async () => {
    const node = createNodeProcess(devConfig());
    const token = node.simulatorToken as string;
    const logs: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        logs.push(chunk.toString('utf8'));
        callback();
      },
    });
    const gateway = await startGateway(node.config, { node, logDestination: destination });
    try {
      gateway.logger.warn({ detail: `sent ${token}` }, `a message with ${token}`);
      const line = logs.find((each) => each.includes('a message with'));
      expect(line).toContain('[redacted]');
      expect(logs.join('')).not.toContain(token);
    } finally {
      await gateway.close();
    }
  });
});
