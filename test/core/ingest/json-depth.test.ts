import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonTooDeep } from '../../../src/core/ingest/json-depth.ts';

/** Nesting depth of a parsed JSON value (objects and arrays count one level each). */
function depthOf(value: unknown): number {
  if (Array.isArray(value)) return 1 + Math.max(0, ...value.map(depthOf));
  if (typeof value === 'object' && value !== null) return 1 + Math.max(0, ...Object.values(value).map(depthOf));
  return 0;
}

describe('jsonTooDeep', () => {
  it('agrees with the depth of the parsed value, brackets inside strings and escapes included', () => {
    fc.assert(
      fc.property(
        fc.jsonValue({ maxDepth: 12, stringUnit: fc.oneof(fc.constantFrom('[', '{', '"', '\\', ']'), fc.string()) }),
        fc.nat(14),
        (value, max) => {
          const json = JSON.stringify(value);
          expect(jsonTooDeep(json, max)).toBe(depthOf(value) > max);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('scans 5,000 levels without recursing', () => {
    expect(jsonTooDeep('['.repeat(5000) + ']'.repeat(5000))).toBe(true);
    expect(jsonTooDeep(`{"a":"${'['.repeat(5000)}"}`)).toBe(false);
  });
});
