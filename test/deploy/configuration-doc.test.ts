import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configVariables } from '../../src/config.ts';
import { FAL_QUEUE_VENDOR_URL } from '../../src/profiles/fal-queue/profile.ts';
import { MIDJOURNEY_VENDOR_URL } from '../../src/profiles/midjourney-v3/profile.ts';
import { OPENAI_VENDOR_URL } from '../../src/profiles/openai-responses/profile.ts';
import { loadWorkerConfig } from '../../src/worker/config.ts';

// docs/configuration.md against the code: the gateway's table is the schema (every variable, its
// default, nothing more); every variable any table names is one the code reads.

const root = join(import.meta.dirname, '../..');
const page = readFileSync(join(root, 'docs/configuration.md'), 'utf8');

interface Row {
  section: string;
  name: string;
  defaultCell: string;
}

/** The variable rows of the page's tables, by `## ` section: `| \`NAME\` | default | meaning |`. */
function rows(markdown: string): Row[] {
  const found: Row[] = [];
  let section = '';
  for (const line of markdown.split('\n')) {
    const heading = /^##\s+(.*)$/.exec(line);
    if (heading) section = heading[1] as string;
    const row = /^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|([^|]*)\|/.exec(line);
    if (row) found.push({ section, name: row[1] as string, defaultCell: (row[2] as string).trim() });
  }
  return found;
}

/** The TypeScript under `dir`, comments removed, so a name only a comment mentions does not count as read. */
function code(dir: string): string {
  const texts: string[] = [];
  const walk = (path: string) => {
    for (const name of readdirSync(path)) {
      if (name === 'node_modules') continue;
      const child = join(path, name);
      if (statSync(child).isDirectory()) walk(child);
      else if (/\.(ts|mjs)$/.test(name))
        texts.push(
          readFileSync(child, 'utf8')
            .replace(/\/\*[\s\S]*?\*\//g, '')
            .replace(/^\s*\/\/.*$/gm, ''),
        );
    }
  };
  walk(join(root, dir));
  return texts.join('\n');
}

const documented = rows(page);
const gateway = documented.filter((row) => row.section.startsWith('The gateway'));

describe('docs/configuration.md', () => {
  it('has a table for the gateway and tables for the runtimes', () => {
    expect(gateway.length).toBeGreaterThan(0);
    expect(documented.length).toBeGreaterThan(gateway.length);
    for (const line of page.split('\n').filter((l) => /^\|/.test(l) && !/^\|\s*(Variable|-)/.test(l))) {
      expect(line, 'a table row that names no variable').toMatch(/^\|\s*`[A-Z][A-Z0-9_]*`\s*\|/);
    }
  });

  it('documents every variable of the schema in the gateway table, once, and nothing else there', () => {
    const names = gateway.map((row) => row.name);
    expect(new Set(names).size).toBe(names.length);
    expect([...names].sort()).toEqual(
      configVariables()
        .map((v) => v.name)
        .sort(),
    );
  });

  it("states each variable's default as the schema has it", () => {
    const wrong: string[] = [];
    for (const variable of configVariables()) {
      const row = gateway.find((each) => each.name === variable.name);
      if (!row) continue; // reported by the test above
      const first = /^`([^`]*)`/.exec(row.defaultCell)?.[1];
      // A default that depends on the mode is prose in the code: every value the page names must be in it.
      const prose = variable.default?.includes(' ') === true;
      const named = [...row.defaultCell.matchAll(/`([^`]*)`/g)].map((m) => m[1] ?? '');
      if (prose && (named.length === 0 || named.some((value) => !variable.default?.includes(value)))) {
        wrong.push(`${variable.name}: documented ${JSON.stringify(row.defaultCell)}, the code says ${variable.default}`);
      }
      if (!prose && variable.default !== undefined && first !== variable.default) {
        wrong.push(`${variable.name}: documented ${JSON.stringify(row.defaultCell)}, the schema's default is ${variable.default}`);
      }
      if (variable.default === undefined && row.defaultCell === '') wrong.push(`${variable.name}: no default cell`);
    }
    expect(wrong).toEqual([]);
  });

  it("states each profile's base URL default as the profile has it", () => {
    const urls = { UPSTREAM_URL: MIDJOURNEY_VENDOR_URL, OPENAI_BASE_URL: OPENAI_VENDOR_URL, FAL_QUEUE_URL: FAL_QUEUE_VENDOR_URL };
    for (const [name, url] of Object.entries(urls)) {
      expect(gateway.find((row) => row.name === name)?.defaultCell, name).toMatch(new RegExp(`^\`${url.replace(/\./g, '\\.')}\``));
    }
  });

  it('documents the Worker-only MAX_STREAM_MS with its default', () => {
    const row = documented.find((each) => each.name === 'MAX_STREAM_MS');
    const config = loadWorkerConfig({ GATEWAY_OPEN: 'true', OPENAI_API_KEY: 'sk-test-key-for-docs' });
    expect(row?.defaultCell).toMatch(new RegExp(`^\`${config.MAX_STREAM_MS}\``));
  });

  it('documents no variable the code does not read', () => {
    const read = code('src') + code('scripts') + code('packages');
    const schema = new Set(configVariables().map((v) => v.name));
    const unknown = documented.filter((row) => !schema.has(row.name) && !new RegExp(`\\b${row.name}\\b`).test(read));
    expect(unknown.map((row) => `${row.section}: ${row.name}`)).toEqual([]);
  });
});
