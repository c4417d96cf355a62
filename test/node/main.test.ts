import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Runs an entry with exactly `env` (plus PATH) until it exits; returns its code and output. */
async function run(args: string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => void (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => void (output += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  clearTimeout(timer);
  return { code, output };
}

const TSX_ENTRY = ['--import', 'tsx', 'src/node/main.ts'];

describe('node entry', () => {
  it('exits 1 with a clear log line when it cannot listen, instead of lingering', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as { port: number }).port;
    const { code, output } = await run([...TSX_ENTRY, '--dev'], { HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn' });
    holder.close();
    expect(code).toBe(1);
    expect(output).toContain('gateway failed to start');
    expect(output).toContain('EADDRINUSE');
  }, 40_000);

  it.each([
    [{}, 'GATEWAY_OPEN=true'],
    [{ GATEWAY_OPEN: 'true' }, 'SIMULATOR=true'],
    [{ NODE_ENV: 'production', GATEWAY_OPEN: 'true', SIMULATOR: 'true' }, 'GATEWAY_OPEN: not allowed'],
    [{ NODE_ENV: ' Production', GATEWAY_OPEN: 'true', SIMULATOR: 'true' }, 'GATEWAY_OPEN: not allowed'],
    [{ NODE_ENV: 'prod', GATEWAY_API_KEYS: 'key-test-0123456789abcdef', SUBSCRIBE_TOKEN_SECRET: 'x'.repeat(32) }, 'SIMULATOR=true'],
  ])(
    'without --dev, refuses to start open or on the simulator unless asked: %j',
    async (env, message) => {
      const { code, output } = await run(TSX_ENTRY, { PORT: '0', ...env });
      expect(code).toBe(2);
      expect(output).toContain(message);
    },
    40_000,
  );
});

describe('the compiled production entry (node dist/main.js)', () => {
  let dir: string;
  beforeAll(async () => {
    // The same build as `npm run build`, into a temporary directory under dist/ (so it resolves node_modules).
    mkdirSync(join(ROOT, 'dist'), { recursive: true });
    dir = mkdtempSync(join(ROOT, 'dist', 'test-'));
    await build({
      entryPoints: [join(ROOT, 'src/node/main.ts')],
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'esm',
      packages: 'external',
      alias: { '@sse-relay/simulator': join(ROOT, 'packages/simulator/src') },
      outfile: join(dir, 'main.js'),
      logLevel: 'silent',
    });
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('refuses to start with no configuration, naming what to set', async () => {
    const { code, output } = await run([join(dir, 'main.js')], {});
    expect(code).toBe(2);
    expect(output).toContain('GATEWAY_API_KEYS: required');
    expect(output).toContain('UPSTREAM_TOKEN, FAL_KEY, OPENAI_API_KEY, REPLICATE_API_TOKEN: no upstream configured');
  }, 40_000);
});
