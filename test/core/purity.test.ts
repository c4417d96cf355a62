import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROFILE_VARIABLES } from '../../src/profiles/index.ts';

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

/** Vendor names, environment variable names included (`FAL_KEY`, `OPENAI_API_KEY`). */
const VENDOR = /midjourney|openai|useapi|\bfal\b|\bfal[-_.]/i;
const VENDOR_CAMEL = /\bFal[A-Z]|[a-z]Fal[A-Z]/;

/** Code without comments (the profile interface's doc comments say which vendor needs a member). */
function codeOf(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
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

// Each profile declares its own variables in its folder; the core takes the declarations as a
// parameter, so adding a vendor touches no file in src/core, not even a comment.
describe('src/core names no profile variable', () => {
  const names = PROFILE_VARIABLES.flatMap((profile) => Object.keys(profile.variables));

  it('knows the profiles declare some', () => {
    expect(names).toEqual(expect.arrayContaining(['UPSTREAM_TOKEN', 'UPSTREAM_URL', 'FAL_KEY', 'OPENAI_API_KEY']));
  });

  it('has none in its code or comments', () => {
    const offenders = files('src/core').flatMap((file) => {
      const source = readFileSync(file, 'utf8');
      return names.filter((name) => new RegExp(`\\b${name}\\b`).test(source)).map((name) => `${file}: ${name}`);
    });
    expect(offenders).toEqual([]);
  });
});
