import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const NODE_ONLY = [
  /from\s+['"](node:[^'"]+|fs|net|http|https|events|stream|buffer|crypto|os|path|child_process|ioredis|pino|prom-client|@hono\/node-server)['"/]/,
  /\brequire\(/,
  /\bBuffer\b/,
  /\bprocess\./,
  /\bsetImmediate\(/,
  /\bEventEmitter\b/,
];

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? files(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

describe.each(['src/core', 'src/http', 'src/worker'])('%s is runtime-neutral', (dir) => {
  it('imports nothing Node-only', () => {
    const offenders = files(dir).flatMap((file) => {
      const source = readFileSync(file, 'utf8');
      return NODE_ONLY.filter((pattern) => pattern.test(source)).map((pattern) => `${file}: ${pattern}`);
    });
    expect(offenders).toEqual([]);
  });
});

/** Vendor names in code (comments stripped: the profile interface's doc comments say which vendor needs a member). */
const VENDOR = /midjourney|openai|useapi|\bfal\b|\bfal[-_.]/i;
const VENDOR_CAMEL = /\bFal[A-Z]|[a-z]Fal[A-Z]/;

/**
 * Code without comments, and without environment variable names: a vendor's credential keeps
 * the name its own SDK reads (`FAL_KEY`), and config.ts is where every variable is declared.
 */
function codeOf(source: string): string {
  return source
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|[^:'"`])\/\/.*$/gm, '$1')
    .replace(/\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b/g, 'ENV_NAME');
}

// Vendors live in src/profiles (one folder per profile) and packages/simulator; the relay, hub, bus,
// security, HTTP layer and runtimes work through the profile interface only.
describe.each(['src/core', 'src/http', 'src/node', 'src/worker'])('%s names no vendor', (dir) => {
  it('has no vendor name in its code', () => {
    const offenders = files(dir).flatMap((file) => {
      const lines = codeOf(readFileSync(file, 'utf8')).split('\n');
      return lines.filter((line) => VENDOR.test(line) || VENDOR_CAMEL.test(line)).map((line) => `${file}: ${line.trim()}`);
    });
    expect(offenders).toEqual([]);
  });
});
