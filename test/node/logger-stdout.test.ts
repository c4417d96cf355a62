import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { until } from '../support/until.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** A process logging through the gateway's stdout logger: lines as the script says, then it waits for stdin to close. */
function logging(script: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: root,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => void (out += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { child, out: () => out, exited };
}

const SETUP = `
import { createNodeLogger } from './src/node/logger.ts';
const logger = createNodeLogger({ level: 'info', instance: 'i', redact: (t) => t.replaceAll('s3cret-value', '[redacted]') });
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
`;

describe('the stdout logger', () => {
  it('writes lines in batches, each out within the flush interval, none below the level, every one redacted', async () => {
    const proc = logging(`${SETUP}
logger.debug({}, 'not at info');
for (let i = 0; i < 3; i++) logger.info({ n: i, token: 's3cret-value' }, 'line');`);
    await until(() => proc.out().split('\n').filter(Boolean).length === 3, {
      what: 'three lines on stdout while the process runs',
      timeoutMs: 5_000,
    });
    const lines = proc
      .out()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { n: number; token: string; msg: string });
    expect(lines.map((line) => line.n)).toEqual([0, 1, 2]);
    expect(lines.every((line) => line.token === '[redacted]' && line.msg === 'line')).toBe(true);
    expect(proc.out()).not.toContain('not at info');
    proc.child.stdin.end();
    expect(await proc.exited).toBe(0);
  });

  it('writes out every queued line when the process exits at once', async () => {
    const proc = logging(`${SETUP}
for (let i = 0; i < 500; i++) logger.info({ n: i }, 'before exit');
process.exit(0);`);
    expect(await proc.exited).toBe(0);
    expect(proc.out().trim().split('\n')).toHaveLength(500);
  });
});
