import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { freePort } from '../support/free-port.ts';
import { type RedisServer, startRedisServer } from '../support/redis-server.ts';

// What deploy/docker-compose.yml (+ the demo file) and deploy/Dockerfile say, checked without Docker:
// the files are read and merged as compose merges them, then the very processes they describe
// (the compiled bundles, with the merged environment) are run on this machine.

const root = join(import.meta.dirname, '../..');
type Service = { environment?: Record<string, string>; command?: string[]; depends_on?: string[] };
type Compose = { services: Record<string, Service> };
const read = (file: string) => parse(readFileSync(join(root, 'deploy', file), 'utf8'), { merge: true }) as Compose;

/** Compose's merge of an override file: maps merge key by key, the override's scalars win. */
function merge(base: Compose, override: Compose): Compose {
  const services: Record<string, Service> = structuredClone(base.services);
  for (const [name, service] of Object.entries(override.services)) {
    const into = (services[name] ??= {});
    for (const [key, value] of Object.entries(service)) {
      const current = (into as Record<string, unknown>)[key];
      (into as Record<string, unknown>)[key] =
        current && typeof current === 'object' && !Array.isArray(current) ? { ...current, ...(value as object) } : value;
    }
  }
  return { services };
}

/** `ENV a=b c=d` of the image's runtime stage. */
function imageEnv(): Record<string, string> {
  const lines = readFileSync(join(root, 'deploy/Dockerfile'), 'utf8').split('\n');
  const env = lines.filter((l) => l.startsWith('ENV ')).at(-1) ?? '';
  return Object.fromEntries(
    env
      .slice(4)
      .trim()
      .split(/\s+/)
      .map((pair) => pair.split('=') as [string, string]),
  );
}

/** Compose's `${VAR:-default}` with nothing set in the shell. */
const interpolate = (env: Record<string, string>) =>
  Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v).replace(/\$\{\w+:-([^}]*)\}/g, '$1')]));

const relays = ['relay-a', 'relay-b'];

describe('deploy/docker-compose.yml', () => {
  const base = read('docker-compose.yml');

  it('trusts the proxy it ships (per-IP limits per user, not per nginx) and refuses no demo override', () => {
    for (const name of relays) {
      expect(base.services[name]?.environment?.TRUST_PROXY).toBe('true');
      // A `${VAR:?…}` would fail interpolation before the demo file could supply the value.
      for (const value of Object.values(base.services[name]?.environment ?? {})) expect(String(value)).not.toContain(':?');
    }
    expect(imageEnv()).toMatchObject({ NODE_ENV: 'production', HOST: '0.0.0.0' });
  });
});

describe('the compose demo, run as the files say', () => {
  const demo = merge(read('docker-compose.yml'), read('docker-compose.demo.yml'));
  const children: ChildProcess[] = [];
  let redis: RedisServer;
  const urls: Record<string, string> = {};

  /** Runs a bundle with a service's environment, the hosts of the compose network mapped to loopback. */
  async function run(name: string, script: string, env: Record<string, string>, ready: string): Promise<void> {
    const child = spawn(process.execPath, [script], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name} did not start:\n${output}`)), 30_000);
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes(ready)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('exit', (code) => reject(new Error(`${name} exited with ${code}:\n${output}`)));
    });
  }

  beforeAll(async () => {
    execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'ignore' });
    redis = await startRedisServer();
    const sim = interpolate(demo.services.simulator?.environment ?? {});
    const simPort = await freePort();
    await run('simulator', 'dist/simulator.js', { ...sim, SIM_HOST: '127.0.0.1', SIM_PORT: String(simPort) }, 'listening');
    for (const name of relays) {
      const env = interpolate(demo.services[name]?.environment ?? {});
      const upstream = new URL(env.UPSTREAM_URL ?? '');
      expect(upstream.hostname).toBe('simulator');
      expect(upstream.port).toBe(sim.SIM_PORT);
      upstream.host = `127.0.0.1:${simPort}`;
      const port = await freePort();
      await run(
        name,
        'dist/main.js',
        {
          ...imageEnv(),
          ...env,
          HOST: '127.0.0.1',
          PORT: String(port),
          REDIS_URL: redis.url,
          UPSTREAM_URL: upstream.toString(),
        },
        'sse-relay listening',
      );
      urls[name] = `http://127.0.0.1:${port}`;
    }
  }, 90_000);

  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await redis?.stop();
  });

  it('runs bundles whose every import is a production dependency (the image has nothing else)', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    for (const bundle of ['dist/main.js', 'dist/simulator.js', 'dist/migrate.js']) {
      const code = readFileSync(join(root, bundle), 'utf8');
      const imports = [...code.matchAll(/(?:^|\n)import[^'"]*from\s*["']([^"']+)["']/g)].map((m) => m[1] as string);
      expect(imports.length).toBeGreaterThan(0);
      const packages = new Set(
        imports
          .filter((s) => !s.startsWith('node:'))
          .map((s) => (s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0])),
      );
      for (const name of packages) expect(pkg.dependencies, `${bundle} imports ${name}`).toHaveProperty(name as string);
    }
  });

  it('both instances share the one simulator: a job created on one streams to its end from the other', async () => {
    const env = interpolate(demo.services['relay-a']?.environment ?? {});
    expect(env.UPSTREAM_TOKEN).toBe(demo.services.simulator?.environment?.SIM_TOKEN);
    const key = env.GATEWAY_API_KEYS?.split(',')[0] ?? '';
    const created = await fetch(`${urls['relay-a']}/v3/midjourney/jobs/imagine`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ prompt: 'demo --sim-steps 2 --sim-interval 50', stream: false }),
    });
    expect(created.status).toBe(201);
    const { stream_url } = (await created.json()) as { stream_url: string };
    const body = await (await fetch(`${urls['relay-b']}${stream_url}`)).text();
    expect(body).toContain('"midjourney_completed"');
    expect(body).toContain('http://localhost:8090/'); // image URLs a browser on the host can load
  });

  it('the image runs the Redis migration as `node dist/migrate.js` with a relay environment (nothing to move here)', async () => {
    const env = interpolate(demo.services['relay-a']?.environment ?? {});
    const { stdout } = await promisify(execFile)(process.execPath, ['dist/migrate.js'], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', ...imageEnv(), ...env, REDIS_URL: redis.url },
    });
    expect(stdout).toContain('redis migration: no old-layout jobs');
  });
});
