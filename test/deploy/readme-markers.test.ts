import { describe, expect, it } from 'vitest';
import { missingExpectation, parseExamples } from '../support/readme-examples.ts';

const fence = (lang: string, code: string) => `\`\`\`${lang}\n${code}\n\`\`\``;

describe('README example markers', () => {
  it('reads run, browser, expect and skip, with the section and line of each fence', () => {
    const readme = [
      '## API',
      '<!-- example: run expect "a\\"b" \'"status":"OK"\' -->',
      fence('sh', 'curl localhost:8080/healthz'),
      '### Browser',
      '<!-- example: run browser -->',
      '',
      fence('js', 'new EventSource("/x")'),
      '<!-- example: skip (needs Docker) -->',
      fence('sh', 'docker compose up'),
      fence('', 'id: 0\ndata: {}'),
    ].join('\n');
    const { examples, problems } = parseExamples(readme);
    expect(problems).toEqual([]);
    expect(examples.map(({ line, lang, section, how, skip, expect }) => ({ line, lang, section, how, skip, expect }))).toEqual([
      { line: 3, lang: 'sh', section: 'API', how: ['run'], skip: undefined, expect: ['a"b', '"status":"OK"'] },
      { line: 9, lang: 'js', section: 'Browser', how: ['run', 'browser'], skip: undefined, expect: [] },
      { line: 13, lang: 'sh', section: 'Browser', how: [], skip: 'needs Docker', expect: [] },
    ]);
    expect(examples[0]?.code).toBe('curl localhost:8080/healthz');
  });

  it('names every fence that could escape: no marker, a bad marker, a marker apart from its fence', () => {
    const readme = [
      '## S',
      fence('sh', 'echo unmarked'),
      '<!-- example: runn -->',
      fence('sh', 'echo typo'),
      '<!-- example: skip -->',
      fence('sh', 'echo no reason'),
      '<!-- example: browser -->',
      fence('sh', 'echo not js'),
      '<!-- example: run -->',
      'Some prose.',
      fence('js', 'marker too far'),
      '<!-- example: run -->',
      fence('', 'output'),
      '```sh',
      '# a heading-like comment inside a fence is no heading',
      '```',
      '<!-- example: run -->',
    ].join('\n');
    const { examples, problems } = parseExamples(readme);
    expect(examples).toEqual([]);
    expect(problems).toHaveLength(9);
    expect(problems.join('\n')).toMatch(/README\.md:2 \(S\): a ```sh block needs a marker/);
    expect(problems.join('\n')).toMatch(/README\.md:6 \(S\): unknown marker "runn"/);
    expect(problems.join('\n')).toMatch(/README\.md:10 \(S\): unknown marker "skip"/);
    expect(problems.join('\n')).toMatch(/README\.md:14 \(S\): a ```sh block cannot be run as "browser"/);
    expect(problems.join('\n')).toMatch(/README\.md:17: a marker must be the last line before its fence/);
    expect(problems.join('\n')).toMatch(/README\.md:19 \(S\): a ```js block needs a marker/);
    expect(problems.join('\n')).toMatch(/README\.md:23 \(S\): a fence without a language is never run/);
    expect(problems.join('\n')).toMatch(/README\.md:26 \(S\): a ```sh block needs a marker/);
    expect(problems.join('\n')).toMatch(/README\.md:29: a marker with no fence after it/);
  });

  it('names the file it read, in examples and problems (README.md unless told)', () => {
    const page = ['# Ops', fence('sh', 'echo unmarked'), '<!-- example: run -->', fence('sh', 'echo ok')].join('\n');
    const { examples, problems } = parseExamples(page, 'docs/operations/redis.md');
    expect(examples.map(({ file, line, section }) => ({ file, line, section }))).toEqual([
      { file: 'docs/operations/redis.md', line: 6, section: 'Ops' },
    ]);
    expect(problems).toEqual([expect.stringMatching(/^docs\/operations\/redis\.md:2 \(Ops\): a ```sh block needs a marker/)]);
    expect(parseExamples(fence('sh', 'echo x')).problems[0]).toMatch(/^README\.md:1/);
  });

  it('finds expected strings only in order', () => {
    expect(missingExpectation('created … completed … 204', ['created', 'completed', '204'])).toBeUndefined();
    expect(missingExpectation('completed … created', ['created', 'completed'])).toBe('completed');
    expect(missingExpectation('completed', ['completed', 'completed'])).toBe('completed');
  });
});
