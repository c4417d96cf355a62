import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const tuning = fileURLToPath(new URL('../../src/node/v8-tuning.ts', import.meta.url));

/**
 * Whether V8 has optimized (TurboFan) a small function after 10,000 calls, in a fresh node with
 * `flags`, after importing `module` first as the gateway's main does. Compiles synchronously, so
 * the answer does not depend on the machine's speed.
 */
function optimizedAfter10k(module: string, flags: string[] = []): boolean {
  const script = `
await import(${JSON.stringify(module)});
function work(a, b) { return (a * 31 + b) % 1009; }
let s = 0;
for (let i = 0; i < 10000; i++) s += work(i, s);
process.stdout.write(String((%GetOptimizationStatus(work) & 16) !== 0));`;
  const args = [
    '--allow-natives-syntax',
    '--no-concurrent-recompilation',
    ...flags,
    '--import',
    'tsx',
    '--input-type=module',
    '-e',
    script,
  ];
  return execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8' }) === 'true';
}

describe("the gateway's V8 tiering", () => {
  it('leaves a function called 10,000 times to the baseline tiers, where plain node optimizes it', () => {
    expect(optimizedAfter10k('node:os')).toBe(true);
    expect(optimizedAfter10k(tuning)).toBe(false);
  });

  it('keeps an --interrupt-budget given to node', () => {
    expect(optimizedAfter10k(tuning, ['--interrupt-budget=67584'])).toBe(true);
  });
});
