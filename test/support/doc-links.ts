import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

/**
 * Relative links and `#anchors` in the repository's Markdown (README.md and docs/), checked the
 * way GitHub renders them: a link leads to a file or folder that exists, and its anchor to a
 * heading of that file (GitHub's slug) or an explicit `<a id>`/`<a name>`.
 */

/** README.md and every Markdown file under docs/, relative to `root`. */
export function markdownFiles(root: string): string[] {
  const found = ['README.md'];
  const walk = (dir: string) => {
    if (!existsSync(join(root, dir))) return;
    for (const name of readdirSync(join(root, dir)).sort()) {
      const path = join(dir, name);
      if (statSync(join(root, path)).isDirectory()) walk(path);
      else if (name.endsWith('.md')) found.push(path);
    }
  };
  walk('docs');
  return found;
}

/** The text of a Markdown file outside fenced blocks, one entry per line (fenced lines blanked, so numbers stay). */
function proseLines(markdown: string): string[] {
  let fenced = false;
  return markdown.split('\n').map((line) => {
    if (/^\s*```/.test(line)) {
      fenced = !fenced;
      return '';
    }
    return fenced ? '' : line;
  });
}

/** GitHub's anchor for a heading's text: rendered text, lower case, punctuation dropped, spaces to hyphens. */
export function slug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // links and images: their text
    .replace(/<[^>]+>/g, '') // inline HTML
    .replace(/[`*]/g, ''); // code spans and emphasis marks
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** Every anchor a file offers: its headings' slugs (repeats numbered -1, -2… as GitHub does) and explicit ids. */
export function anchors(markdown: string): Set<string> {
  const found = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of proseLines(markdown)) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading) {
      const base = slug(heading[1] as string);
      const count = seen.get(base) ?? 0;
      seen.set(base, count + 1);
      found.add(count === 0 ? base : `${base}-${count}`);
    }
    for (const id of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) found.add(id[1] as string);
  }
  return found;
}

/** The relative links of a file: `[text](target)` outside code, with the line each is on. */
export function relativeLinks(markdown: string): { line: number; target: string }[] {
  const links: { line: number; target: string }[] = [];
  proseLines(markdown).forEach((text, index) => {
    const prose = text.replace(/`[^`]*`/g, '');
    for (const match of prose.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      const target = match[1] as string;
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:…
      links.push({ line: index + 1, target });
    }
  });
  return links;
}

/** Every link in `files` that leads nowhere, as `file:line: target (why)`. */
export function brokenLinks(root: string, files: string[]): string[] {
  const cache = new Map<string, Set<string>>();
  const anchorsOf = (file: string) => {
    let set = cache.get(file);
    if (!set) {
      set = anchors(readFileSync(join(root, file), 'utf8'));
      cache.set(file, set);
    }
    return set;
  };
  const problems: string[] = [];
  for (const file of files) {
    for (const { line, target } of relativeLinks(readFileSync(join(root, file), 'utf8'))) {
      const hash = target.indexOf('#');
      const path = hash < 0 ? target : target.slice(0, hash);
      const anchor = hash < 0 ? undefined : decodeURIComponent(target.slice(hash + 1));
      const resolved = path === '' ? file : relative(root, join(root, dirname(file), decodeURIComponent(path)));
      const at = `${file}:${line}: ${target}`;
      if (resolved.startsWith('..')) problems.push(`${at} (outside the repository)`);
      else if (!existsSync(join(root, resolved))) problems.push(`${at} (no such file: ${resolved})`);
      else if (anchor !== undefined) {
        if (!resolved.endsWith('.md')) problems.push(`${at} (an anchor into a file that is not Markdown)`);
        else if (!anchorsOf(resolved).has(anchor)) problems.push(`${at} (no heading or id "${anchor}" in ${resolved})`);
      }
    }
  }
  return problems;
}
