import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROFILES } from '../../src/profiles/index.ts';
import { afterAll, describe, expect, it } from 'vitest';
import { hasChromium, launchChromium } from '../support/chromium.ts';
import { cardView, historySeqs, pageJobs } from '../support/dashboard.ts';
import { freePort } from '../support/free-port.ts';
import { until } from '../support/until.ts';

const root = join(import.meta.dirname, '../..');
let child: ChildProcess | undefined;
/** The dev Worker's URL, once the first test started it. */
let base: string | undefined;
const state = mkdtempSync(join(tmpdir(), 'sse-relay-dev-worker-'));

afterAll(async () => {
  if (child?.pid !== undefined && child.exitCode === null) {
    const gone = new Promise((resolve) => child?.once('exit', resolve));
    process.kill(-child.pid, 'SIGTERM');
    await gone;
  }
  rmSync(state, { recursive: true, force: true });
});

/** Runs `npm run dev:worker` and resolves with the example command it prints once it is ready. */
async function startDevWorker(): Promise<string> {
  const env = {
    ...process.env,
    PORT: String(await freePort()),
    SIM_PORT: String(await freePort()),
    DEV_STATE_DIR: state,
    LOG_LEVEL: 'warn',
  };
  child = spawn('npm', ['run', '--silent', 'dev:worker'], { cwd: root, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const example = /\(try: (curl .*)\)\s*$/m.exec(output);
      if (example?.[1]) resolve(example[1]);
    };
    child?.stdout?.on('data', onData);
    child?.stderr?.on('data', onData);
    child?.once('exit', (code) => reject(new Error(`dev:worker exited (${code}) before it was ready:\n${output.slice(-3000)}`)));
  });
}

describe('npm run dev:worker', () => {
  it('creates and streams a job with the curl command it prints', async () => {
    const example = await startDevWorker();
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile('bash', ['-c', `${example} --max-time 60 -sS`], { timeout: 70_000 }, (err, out, errOut) =>
        err ? reject(new Error(`${err.message}\n${errOut}`)) : resolve(out),
      );
    });
    const events = stdout
      .split('\n')
      .filter((line) => line.startsWith('data: '))
      .map((line) => JSON.parse(line.slice(6)) as { event: string; seq: number });
    expect(events[0]?.event).toBe('initialized');
    expect(events.at(-1)?.event).toBe('midjourney_completed');
    expect(stdout).not.toContain('Unauthorized');
    base = /(http:\/\/127\.0\.0\.1:\d+)\//.exec(example)?.[1];
  }, 120_000);

  it('shows the dashboard and serves the browser client (the static assets of web/)', async () => {
    expect(base).toBeDefined();
    const page = await fetch(`${base}/`);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(await page.text()).toContain('<script type="module" src="/dashboard.js">');
    expect(await (await fetch(`${base}/client.js`)).text()).toMatch(/^export function watch\(/m);
    expect((await fetch(`${base}/client.d.ts`)).headers.get('content-type')).toBe('application/typescript; charset=utf-8');
    expect(await (await fetch(`${base}/v1/profiles`)).json()).toEqual({
      profiles: PROFILES.map((entry) => entry.profile.name),
      open: true,
    });
  });

  it.skipIf(!hasChromium)(
    'the dashboard on the Worker starts jobs and shows them to their end, over the multiplexed stream, images through the media proxy',
    async () => {
      expect(base).toBeDefined();
      const browser = await launchChromium();
      try {
        const page = await browser.newPage();
        await page.goto(`${base}/`);
        await page.waitForSelector('#start:not([hidden])');
        const jobs: string[] = [];
        for (const profile of ['openai-responses', 'midjourney-v3']) {
          await page.selectOption('#profile', profile);
          await page.fill('#prompt', 'on the Worker --sim-steps 4 --sim-interval 50');
          await page.click('#start button');
          jobs.push(await until(async () => (await pageJobs(page)).find((job) => job.startsWith(`${profile}/`)), `the ${profile} card`));
        }
        for (const job of jobs) {
          await until(async () => (await cardView(page, job))?.over, { timeoutMs: 30_000, what: `${job} over` });
          const shown = await cardView(page, job);
          expect(shown).toMatchObject({ status: 'completed', progress: 100 });
          expect(shown?.seqs).toEqual(await historySeqs(base as string, job));
        }
        // The Midjourney images, through the Worker's media proxy.
        await until(async () => (await cardView(page, jobs[1] as string))?.loaded === 4, 'the four images');
      } finally {
        await browser.close();
      }
    },
  );
});
