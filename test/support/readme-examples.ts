/**
 * The fenced examples of README.md and every Markdown page under docs/, and their markers (docs/testing.md: the
 * examples in README.md and docs/). Every fence
 * with a language has a marker on its last non-blank line before it:
 *   <!-- example: run -->                  sh: bash -euo pipefail; js/ts: a Node module in the repository; python: python3
 *   <!-- example: browser -->              js: in Chromium, on the gateway's origin
 *   <!-- example: run browser -->          both
 *   <!-- example: run expect "a" 'b' -->   …and its output holds these strings, in this order
 *                                          ("…" as in JSON, '…' as is)
 *   <!-- example: skip (why) -->           not run here, and why
 * Fences without a language are sample output and diagrams: never run, no marker.
 */

export type How = 'run' | 'browser';

export interface Example {
  /** The Markdown file, relative to the repository root. */
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  lang: string;
  code: string;
  /** The nearest heading above the fence. */
  section: string;
  how: How[];
  skip?: string;
  expect: string[];
}

export interface Parsed {
  examples: Example[];
  /** What is wrong with the markers: fences without one, markers without a fence, bad markers. */
  problems: string[];
}

const MARKER = /^\s*<!--\s*example:(.*?)-->\s*$/;
const FENCE = /^\s*```\s*([\w+-]*)/;

/** The examples of one Markdown file (`file` names it in problems and examples). */
export function parseExamples(readme: string, file = 'README.md'): Parsed {
  const lines = readme.split('\n');
  const examples: Example[] = [];
  const problems: string[] = [];
  let section = '';
  let marker: { line: number; text: string } | undefined;
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i] as string;
    const fence = FENCE.exec(text);
    if (fence) {
      const start = i;
      while (++i < lines.length && !/^\s*```\s*$/.test(lines[i] as string));
      const lang = fence[1] ?? '';
      const code = lines.slice(start + 1, i).join('\n');
      const at = `${file}:${start + 1} (${section})`;
      if (lang === '') {
        if (marker) problems.push(`${at}: a fence without a language is never run; drop the marker above it or name the language`);
      } else if (!marker) {
        problems.push(`${at}: a \`\`\`${lang} block needs a marker above it: <!-- example: run --> or <!-- example: skip (why) -->`);
      } else {
        const example = readMarker(marker.text, { file, line: start + 1, lang, code, section }, problems, at);
        if (example) examples.push(example);
      }
      marker = undefined;
      continue;
    }
    const heading = /^#{1,6}\s+(.*)$/.exec(text);
    if (heading) section = heading[1] as string;
    const found = MARKER.exec(text);
    if (found) {
      if (marker) problems.push(`${file}:${marker.line}: a marker with no fence after it`);
      marker = { line: i + 1, text: (found[1] as string).trim() };
    } else if (marker && text.trim() !== '') {
      problems.push(`${file}:${marker.line}: a marker must be the last line before its fence`);
      marker = undefined;
    }
  }
  if (marker) problems.push(`${file}:${marker.line}: a marker with no fence after it`);
  return { examples, problems };
}

function readMarker(text: string, block: Omit<Example, 'how' | 'expect' | 'skip'>, problems: string[], at: string): Example | undefined {
  const skip = /^skip\s*\((.+)\)$/.exec(text);
  if (skip) return { ...block, how: [], skip: (skip[1] as string).trim(), expect: [] };
  const parts = /^([a-z ]+?)(?:\s+expect\s+(.+))?$/.exec(text);
  const how = (parts?.[1] ?? '').split(/\s+/);
  const expect = [...(parts?.[2] ?? '').matchAll(/"((?:[^"\\]|\\.)*)"|'([^']*)'/g)].map((m) =>
    m[2] !== undefined ? m[2] : (JSON.parse(`"${m[1]}"`) as string),
  );
  const bad = how.filter((h) => h !== 'run' && h !== 'browser');
  if (!parts || bad.length > 0 || (parts[2] !== undefined && expect.length === 0)) {
    problems.push(`${at}: unknown marker "${text}" (run, browser, run browser, each with an optional expect "…"; or skip (why))`);
    return undefined;
  }
  const runnable = how.includes('browser') ? ['js'] : ['sh', 'bash', 'js', 'mjs', 'ts', 'python'];
  if (!runnable.includes(block.lang)) {
    problems.push(`${at}: a \`\`\`${block.lang} block cannot be run as "${text}"; mark it skip (why)`);
    return undefined;
  }
  return { ...block, how: how as How[], expect };
}

/** Whether `output` holds every expected string, in order; the first one missing otherwise. */
export function missingExpectation(output: string, expected: string[]): string | undefined {
  let from = 0;
  for (const each of expected) {
    const at = output.indexOf(each, from);
    if (at < 0) return each;
    from = at + each.length;
  }
  return undefined;
}
