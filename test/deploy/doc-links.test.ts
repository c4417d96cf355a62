import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { anchors, brokenLinks, markdownFiles, relativeLinks, slug } from '../support/doc-links.ts';

// Every relative link and #anchor in README.md and docs/ leads somewhere, by GitHub's rules.

const root = join(import.meta.dirname, '../..');

describe('links in README.md and docs/', () => {
  it('finds the README and the docs', () => {
    const files = markdownFiles(root);
    expect(files).toContain('README.md');
    expect(files).toContain('docs/README.md');
    expect(files).toContain('docs/architecture.md');
  });

  it('leads every relative link to a file that exists and every anchor to a heading or id in it', () => {
    expect(brokenLinks(root, markdownFiles(root))).toEqual([]);
  });
});

describe('GitHub anchor rules, as the check applies them', () => {
  it('slugs a heading as GitHub does: lower case, punctuation dropped, spaces to hyphens, code and links as their text', () => {
    expect(slug('Several processes on one machine (`WORKERS`)')).toBe('several-processes-on-one-machine-workers');
    expect(slug("fal-queue (fal.ai's queue)")).toBe('fal-queue-falais-queue');
    expect(slug('OpenAI Responses API (`/openai/v1`)')).toBe('openai-responses-api-openaiv1');
    expect(slug('When the upstream is full: the opt-in create queue')).toBe('when-the-upstream-is-full-the-opt-in-create-queue');
    expect(slug('X-Queue on the OpenAI and fal paths')).toBe('x-queue-on-the-openai-and-fal-paths');
    expect(slug('Redaction, exactly')).toBe('redaction-exactly');
    expect(slug('See [the API](api.md) now')).toBe('see-the-api-now');
    expect(slug('snake_case and **bold**')).toBe('snake_case-and-bold');
  });

  it('numbers repeated headings, counts explicit ids, and ignores headings inside fences', () => {
    const found = anchors(['# Tests', '## Tests', '<a id="cut"></a>**Cut.**', '```sh', '# not a heading', '```'].join('\n'));
    expect([...found].sort()).toEqual(['cut', 'tests', 'tests-1']);
  });

  it('reads links outside code only, and leaves other schemes alone', () => {
    const links = relativeLinks(
      ['[a](docs/api.md#errors) `[b](nowhere.md)` [c](https://example.com/x) [d](#local)', '```', '[e](in-a-fence.md)', '```'].join('\n'),
    );
    expect(links).toEqual([
      { line: 1, target: 'docs/api.md#errors' },
      { line: 1, target: '#local' },
    ]);
  });
});
