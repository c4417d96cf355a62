import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port.ts';
import { markdownFiles } from '../support/doc-links.ts';
import { type Example, missingExpectation, parseExamples } from '../support/readme-examples.ts';
import { until } from '../support/until.ts';
import { hasChromium, launchChromium } from '../support/chromium.ts';

// The examples of README.md and docs/, run as written against `npm start` (docs/testing.md: the
// examples in README.md and docs/). The only change made to a block is the port: `localhost:8080`
// becomes the gateway's free port.

const root = join(import.meta.dirname, '../..');
const files = markdownFiles(root);
const parsed = files.map((file) => parseExamples(readFileSync(join(root, file), 'utf8'), file));
const examples = parsed.flatMap((each) => each.examples);
const problems = parsed.flatMap((each) => each.problems);
const work = join(root, 'tmp', `readme-examples-${process.pid}`); // inside the repository, so imports resolve
const BLOCK_TIMEOUT_MS = 60_000;
// Every process started here: connections beyond this machine fail and are reported (loopback-only.mjs).
const NO_INTERNET = {
  NODE_OPTIONS: `--import=${pathToFileURL(join(root, 'test/support/loopback-only.mjs')).href}`,
  ALL_PROXY: 'http://127.0.0.1:9',
  HTTPS_PROXY: 'http://127.0.0.1:9',
  HTTP_PROXY: 'http://127.0.0.1:9',
  NO_PROXY: 'localhost,127.0.0.1,::1',
};
const BASE_ENV = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? root, npm_config_update_notifier: 'false', ...NO_INTERNET };

interface Gateway {
  port: number;
  output(): string;
  stop(): Promise<void>;
}

/** `npm start` on a free port, in its own process group, with `env` as a README block set it. */
async function npmStart(env: Record<string, string>): Promise<Gateway> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const child = spawn('npm', ['start'], { cwd: root, detached: true, env: { ...BASE_ENV, ...env, PORT: String(port) } });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => void (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => void (output += chunk.toString()));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const stop = () => stopGroup(child, exited);
    const up = await until(
      () =>
        child.exitCode !== null
          ? 'exited'
          : fetch(`http://127.0.0.1:${port}/healthz`).then(
              (r) => (r.ok ? 'up' : 'down'),
              () => 'down',
            ),
      (state) => state !== 'down',
      60_000,
    ).catch(() => 'down');
    if (up === 'up') return { port, output: () => output, stop };
    await stop();
    if (attempt >= 3 || !output.includes('EADDRINUSE')) throw new Error(`npm start did not come up:\n${output}`);
  }
}

/** SIGTERM to the whole group (npm, sh, tsx, node), SIGKILL after 10 s. */
async function stopGroup(child: ChildProcess, exited: Promise<void>): Promise<void> {
  const signal = (name: NodeJS.Signals) => {
    try {
      if (child.pid) process.kill(-child.pid, name);
    } catch {} // the group is gone already
  };
  if (child.exitCode === null && child.signalCode === null) {
    signal('SIGTERM');
    const timer = setTimeout(() => signal('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
  signal('SIGKILL'); // anything the block left behind
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command in its own process group, killed with its children after BLOCK_TIMEOUT_MS. */
function runProcess(command: string, args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: root, detached: true, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => void (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    const timer = setTimeout(() => {
      stderr += `\n[killed after ${BLOCK_TIMEOUT_MS} ms]`;
      void stopGroup(child, exited);
    }, BLOCK_TIMEOUT_MS);
    child.once('close', (code) => {
      clearTimeout(timer);
      void stopGroup(child, exited).then(() => resolve({ code, stdout, stderr }));
    });
  });
}

/** What a section's blocks share (a heading of one file): the variables earlier blocks set, and the gateway one of them started. */
interface Section {
  vars: Record<string, string>;
  gateway?: Gateway;
}

// A block's own `npm start` is recorded (its environment) and started by the test once the block is done.
const PRELUDE = `npm() { if [[ "$*" == start ]]; then env -0 > "$EXAMPLE_NPM_START"; else command npm "$@"; fi; }
__example_before=" $(compgen -v | tr '\\n' ' ') "
`;
const EPILOGUE = `
for __example_v in $(compgen -v); do
  case "$__example_v" in __example*|BASH*|PIPESTATUS|OLDPWD|_) continue ;; esac
  [[ "$__example_before" == *" $__example_v "* ]] || printf '%s=%s\\0' "$__example_v" "\${!__example_v-}"
done > "$EXAMPLE_VARS"
`;

const readNul = (file: string): Record<string, string> =>
  Object.fromEntries(
    readFileSync(file, 'utf8')
      .split('\0')
      .filter((pair) => pair.includes('='))
      .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
  );

const where = (example: Example) => `${example.file}:${example.line} (${example.section})`;
/** A name for a block's scratch files, unique across files. */
const scratch = (example: Example) => `${example.file.replace(/[^\w.-]/g, '_')}-${example.line}`;
const withPort = (code: string, port: number) => code.replaceAll('localhost:8080', `localhost:${port}`);

function failure(example: Example, run: Run, problem: string): string {
  return `${where(example)}: ${problem}\n--- block\n${example.code}\n--- stdout (end)\n${run.stdout.slice(-4000)}\n--- stderr (end)\n${run.stderr.slice(-4000)}`;
}

function check(example: Example, run: Run): void {
  if (run.code !== 0) throw new Error(failure(example, run, `exited with ${run.code}`));
  const missing = missingExpectation(run.stdout, example.expect);
  if (missing !== undefined) throw new Error(failure(example, run, `its output lacks ${JSON.stringify(missing)}`));
  if (`${run.stdout}${run.stderr}`.includes('loopback-only:'))
    throw new Error(failure(example, run, 'it tried to reach beyond this machine'));
}

/** A ```sh block through `bash -euo pipefail`, with the section's variables; its new variables go back to the section. */
async function runShell(example: Example, section: Section, port: number): Promise<void> {
  const id = scratch(example);
  const script = join(work, `${id}.sh`);
  const vars = join(work, `${id}.vars`);
  const started = join(work, `${id}.npm-start`);
  writeFileSync(script, PRELUDE + withPort(example.code, port) + EPILOGUE);
  const env = { ...BASE_ENV, ...section.vars, EXAMPLE_VARS: vars, EXAMPLE_NPM_START: started };
  const run = await runProcess('bash', ['-euo', 'pipefail', script], env);
  check(example, run);
  Object.assign(section.vars, readNul(vars));
  if (existsSync(started)) {
    // What the block exported for its `npm start` (not what the test put there).
    const exported = Object.entries(readNul(started)).filter(
      ([k, v]) => !k.startsWith('EXAMPLE_') && !['_', 'SHLVL', 'PWD', 'OLDPWD'].includes(k) && (env as Record<string, string>)[k] !== v,
    );
    await section.gateway?.stop();
    section.gateway = await npmStart(Object.fromEntries(exported));
    gateways.push(section.gateway);
  }
}

/** A ```js block as a module inside the repository (so `openai`, `@fal-ai/client`, `eventsource` resolve), with the section's variables. */
async function runNode(example: Example, section: Section, port: number): Promise<void> {
  const file = join(work, `${scratch(example)}.${example.lang === 'ts' ? 'ts' : 'mjs'}`);
  writeFileSync(file, withPort(example.code, port));
  const args = example.lang === 'ts' ? ['--import', 'tsx', file] : [file];
  check(example, await runProcess(process.execPath, args, { ...BASE_ENV, ...section.vars }));
}

/** A ```python block through python3 (its `requests` where installed), with the section's variables. */
async function runPython(example: Example, section: Section, port: number): Promise<void> {
  const file = join(work, `${scratch(example)}.py`);
  writeFileSync(file, withPort(example.code, port));
  check(example, await runProcess('python3', [file], { ...BASE_ENV, ...section.vars }));
}

let browser: Browser | undefined;
const offMachine: string[] = [];

/**
 * Instruments EventSource and supplies what a console snippet takes for granted: a job id (`jobId`,
 * `prompt()`: the `$JOB` or `$ID` an earlier block of the section set) and `render`. A string, so the
 * page gets it exactly as written.
 */
const pageSetup = (jobId: string | null) => `
window.__example = { sources: [] };
Object.assign(window, { jobId: ${JSON.stringify(jobId)}, render: () => {}, prompt: () => ${JSON.stringify(jobId)} });
const Native = window.EventSource;
window.EventSource = class extends Native {
  constructor(url, init) {
    super(url, init);
    const record = { url: String(url), messages: 0, closed: false, refused: false };
    window.__example.sources.push(record);
    this.addEventListener('message', () => void record.messages++);
    this.addEventListener('error', () => void (this.readyState === Native.CLOSED && (record.refused = true)));
    Object.defineProperty(this, 'close', { value: () => ((record.closed = true), Native.prototype.close.call(this)) });
  }
};`;

/**
 * A ```js snippet in a page of the gateway's origin (import lines dropped, as the README says for a
 * console): every EventSource it opens must get events and be closed by the snippet itself, on the
 * terminal event; its console output is what `expect` checks.
 */
async function runBrowser(example: Example, section: Section, port: number): Promise<void> {
  browser ??= await launchChromium();
  const context = await browser.newContext();
  const origin = `http://localhost:${port}`;
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(`${origin}/`)) return route.continue();
    offMachine.push(`${where(example)}: ${url}`);
    return route.abort();
  });
  const page = await context.newPage();
  const consoleText: string[] = [];
  const errors: string[] = [];
  page.on('console', (message) => void consoleText.push(message.text()));
  page.on('pageerror', (error) => void errors.push(String(error)));
  try {
    await page.goto(`${origin}/healthz`);
    await page.evaluate(pageSetup(section.vars.JOB ?? section.vars.ID ?? null));
    const code = withPort(example.code, port)
      .split('\n')
      .filter((line) => !/^import\s/.test(line))
      .join('\n');
    await page.evaluate(`(async () => {\n${code}\n})()`);
    type Sources = { url: string; messages: number; closed: boolean; refused: boolean }[];
    const read = () => page.evaluate(() => (window as unknown as { __example: { sources: Sources } }).__example.sources);
    const sources = await until(read, (s) => s.length > 0 && s.every((each) => each.closed || each.refused), BLOCK_TIMEOUT_MS).catch(
      async (err: Error) => {
        throw new Error(`${where(example)}: its EventSources did not end: ${err.message}\nconsole: ${consoleText.join('\n')}`);
      },
    );
    const run = { code: 0, stdout: consoleText.join('\n'), stderr: errors.join('\n') };
    if (errors.length > 0) throw new Error(failure(example, run, 'the page threw'));
    for (const each of sources) {
      if (!each.closed || each.messages === 0) {
        throw new Error(
          failure(example, run, `${each.url}: ${each.messages} events, ${each.closed ? 'closed' : 'never closed'} by the snippet`),
        );
      }
    }
    check(example, run);
  } finally {
    await context.close();
  }
}

const gateways: Gateway[] = [];
let gateway: Gateway;
const sections = new Map<string, Section>();

describe('README.md and docs/ examples', () => {
  it('marks every fenced example of README.md and docs/: run, browser, or skip with a reason', () => {
    expect(problems).toEqual([]);
    expect(examples.filter((e) => e.how.length > 0).length).toBeGreaterThan(0);
    // The pages under docs/ are read too, and hold examples that run.
    expect(files.filter((file) => file.startsWith('docs/')).length).toBeGreaterThan(0);
    expect(examples.filter((e) => e.file.startsWith('docs/') && e.how.length > 0).length).toBeGreaterThan(0);
  });

  describe('run as written against npm start', () => {
    beforeAll(async () => {
      mkdirSync(work, { recursive: true });
      gateway = await npmStart({});
      gateways.push(gateway);
    }, 90_000);

    afterAll(async () => {
      await browser?.close();
      for (const each of gateways) await each.stop();
      rmSync(work, { recursive: true, force: true });
    });

    it('npm start runs as the Quick start says: 127.0.0.1, open, the built-in simulator, the in-memory bus', () => {
      const output = gateway.output();
      expect(output).toContain(`"url":"http://127.0.0.1:${gateway.port}"`);
      expect(output).toContain('"bus":"memory"');
      expect(output).toContain('GATEWAY_OPEN=true: the gateway is OPEN');
      expect(output).toContain('SIMULATOR=true: serving jobs from the built-in simulator');
    });

    for (const example of examples) {
      const name = `${where(example)} ${example.lang}: ${example.skip ? `skipped (${example.skip})` : example.how.join(' + ')}`;
      const needsChromium = example.how.includes('browser') && !hasChromium;
      it.skipIf(example.skip !== undefined || needsChromium)(
        name,
        async () => {
          const key = `${example.file}#${example.section}`;
          const section = sections.get(key) ?? { vars: {} };
          sections.set(key, section);
          const port = (section.gateway ?? gateway).port;
          if (example.how.includes('run')) {
            if (example.lang === 'sh' || example.lang === 'bash') await runShell(example, section, port);
            else if (example.lang === 'python') await runPython(example, section, port);
            else await runNode(example, section, port);
          }
          if (example.how.includes('browser')) await runBrowser(example, section, port);
        },
        2 * BLOCK_TIMEOUT_MS,
      );
    }

    it('reached nothing beyond this machine (gateways, scripts and pages), with the guard armed', async () => {
      expect(offMachine).toEqual([]);
      for (const each of gateways) expect(each.output()).not.toContain('loopback-only:');
      // On the simulator the fal proxy relays nothing beyond its queue: a real fal host is refused
      // before any connection (so the guard never fires in the gateway).
      const probe = await fetch(`http://127.0.0.1:${gateway.port}/fal/proxy`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'x-fal-target-url': 'https://fal.run/fal-ai/flux/dev' },
        body: '{}',
      });
      expect(probe.status).toBe(400);
      expect(gateway.output()).not.toContain('loopback-only:');
      // The guard is armed in every process started with this environment: a connection out is refused at the socket.
      const guarded = spawn(process.execPath, ['-e', "fetch('https://fal.run/').catch(() => undefined)"], { cwd: root, env: BASE_ENV });
      let stderr = '';
      guarded.stderr?.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
      await new Promise<void>((resolve) => guarded.once('exit', () => resolve()));
      expect(stderr).toContain('loopback-only: refused a connection to fal.run:443');
    });
  });
});
