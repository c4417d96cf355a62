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
