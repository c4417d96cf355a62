import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');
const text = (file: string) => readFileSync(join(root, file), 'utf8');
const pkg = JSON.parse(text('package.json')) as { license?: string; dependencies: Record<string, string>; scripts: Record<string, string> };
const tracked = execFileSync('git', ['ls-files'], { cwd: root, encoding: 'utf8' }).split('\n').filter(Boolean);

describe('what a fresh clone ships', () => {
  it('has an OSI licence, named in package.json', () => {
    expect(text('LICENSE')).toMatch(/^MIT License/);
    expect(pkg.license).toBe('MIT');
  });

  it('keeps node_modules, .git and local state out of the image build context', () => {
    const ignored = text('.dockerignore')
      .split('\n')
      .map((l) => l.trim());
    for (const entry of ['.git', 'node_modules', 'dist', '.wrangler', '.dev.vars']) expect(ignored).toContain(entry);
  });

  it('keeps build tools out of the production dependencies', () => {
    for (const tool of ['tsx', 'esbuild', 'typescript', 'wrangler', 'vitest']) expect(pkg.dependencies).not.toHaveProperty(tool);
  });

  it('points only to files that exist', () => {
    const sources = tracked.filter((f) => /\.(ts|toml|md|yml|json)$/.test(f) && !f.endsWith('package-lock.json'));
    for (const file of sources) {
      // A workspace package's files name paths from its own folder (packages/<name>/) or from the root.
      const home = /^packages\/[\w.-]+\//.exec(file)?.[0];
      for (const match of text(file).matchAll(
        /\b((?:packages\/[\w.-]+\/)?(?:docs|deploy|scripts|src|test)\/[\w./-]+\.(?:md|ts|yml|conf|toml))\b/g,
      )) {
        const path = match[1] as string;
        const exists = existsSync(join(root, path)) || (home !== undefined && existsSync(join(root, home, path)));
        expect(exists, `${file} mentions ${path}`).toBe(true);
      }
    }
  });
});
