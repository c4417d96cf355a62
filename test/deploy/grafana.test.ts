import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { parseExposition } from '../support/prometheus.ts';

// The Grafana dashboard and the alerting PromQL of docs/operations/metrics.md name only metrics the
// gateway exposes, and that page documents every one it exposes.

const root = join(import.meta.dirname, '../..');
const dashboard = JSON.parse(readFileSync(join(root, 'deploy/grafana/sse-relay.json'), 'utf8')) as Record<string, unknown>;
const page = readFileSync(join(root, 'docs/operations/metrics.md'), 'utf8');
const METRIC = /\bsse_relay_[a-z0-9_]+/g;
/** Grafana's reference to the dashboard's data source variable. */
const DATASOURCE = ['$', '{datasource}'].join('');

/** Every query string of the dashboard: the panels' `expr` and the variables' queries. */
function queries(node: unknown, found: string[] = []): string[] {
  if (Array.isArray(node)) for (const item of node) queries(item, found);
  else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if ((key === 'expr' || key === 'query' || key === 'definition') && typeof value === 'string') found.push(value);
      else queries(value, found);
    }
  }
  return found;
}

/** The family a sample name belongs to (a histogram's `_bucket`, `_sum`, `_count` are its own). */
function familyOf(name: string, families: ReadonlySet<string>): string {
  if (families.has(name)) return name;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (name.endsWith(suffix) && families.has(name.slice(0, -suffix.length))) return name.slice(0, -suffix.length);
  }
  return name;
}

let gw: TestGateway;
let families: Set<string>;
beforeAll(async () => {
  gw = await startTestGateway();
  await fetch(`${gw.url}/healthz`);
  families = new Set(parseExposition(await (await fetch(`${gw.url}/metrics`)).text()).types.keys());
});
afterAll(async () => {
  await gw?.close();
});

describe('deploy/grafana/sse-relay.json', () => {
  it('is a dashboard whose panels all query Prometheus through its data source variable', () => {
    const panels = (dashboard.panels as { type: string; targets?: { expr: string }[]; datasource?: { uid: string } }[]).filter(
      (panel) => panel.type !== 'row',
    );
    expect(panels.length).toBeGreaterThan(10);
    for (const panel of panels) {
      expect(panel.datasource?.uid).toBe(DATASOURCE);
      expect(panel.targets?.length).toBeGreaterThan(0);
    }
  });

  it('names in every query only metrics the gateway exposes', () => {
    const all = queries(dashboard).filter((query) => query !== 'prometheus');
    expect(all.length).toBeGreaterThan(15);
    for (const query of all) {
      const names = query.match(METRIC) ?? [];
      expect(names.length, query).toBeGreaterThan(0);
      for (const name of names) expect(families.has(familyOf(name, families)), `${name} in ${query}`).toBe(true);
    }
  });
});

describe('docs/operations/metrics.md', () => {
  it('names only exposed metrics, in its table and its alerts, and documents every one the gateway adds', () => {
    const named = new Set((page.match(METRIC) ?? []).map((name) => familyOf(name, families)));
    for (const name of named) {
      // The process metrics are named by example only.
      if (/^sse_relay_(process|nodejs)_/.test(name)) continue;
      expect(families.has(name), name).toBe(true);
    }
    const ours = [...families].filter((name) => !/^sse_relay_(process|nodejs)_/.test(name));
    const tabled = new Set([...page.matchAll(/^\| `(sse_relay_[a-z0-9_]+)` \|/gm)].map((row) => row[1]));
    expect(ours.filter((name) => !tabled.has(name))).toEqual([]);
  });
});
