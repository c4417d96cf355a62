import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const dir = join(import.meta.dirname, '../src');
const NODE_ONLY = /from\s+['"]node:|\brequire\(|\bBuffer\b|\bprocess\.\w|\bsetImmediate\b|@hono\/node-server/;

describe('simulator portability', () => {
  it('uses Web APIs only outside its Node entries (main.ts, node.ts), in every folder, so it can run in a Worker', () => {
    const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter(
      (name) => name.endsWith('.ts') && name !== 'main.ts' && name !== 'node.ts',
    );
    expect(files).toContain('index.ts');
    expect(files).toContain('simulator.ts');
    expect(files).toContain(join('openai', 'routes.ts'));
    const offenders = files.filter((name) => NODE_ONLY.test(readFileSync(join(dir, name), 'utf8')));
    expect(offenders).toEqual([]);
  });
});
