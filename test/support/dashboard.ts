/** Helpers of the dashboard's browser tests: jobs started from Node, what a page shows of them, the gateway's stream requests. */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { readSse } from './sse.ts';

/** Screenshots of the browser tests (git-ignored). */
export const ARTIFACTS = join(import.meta.dirname, '../artifacts');
export function artifactPath(name: string): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return join(ARTIFACTS, name);
}

const post = async (url: string, body: unknown, headers: Record<string, string>) => {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`POST ${url}: ${response.status} ${await response.text()}`);
  return (await response.json()) as Record<string, string>;
};

/** Starts a job of `profile` with `prompt` (the simulator's directives in it) and returns its name `<profile>/<id>`. */
export async function startJob(base: string, profile: string, prompt: string, headers: Record<string, string> = {}): Promise<string> {
  if (profile === 'midjourney-v3')
    return `${profile}/${(await post(`${base}/v3/midjourney/jobs/imagine`, { prompt, stream: false }, headers)).jobid}`;
  if (profile === 'openai-responses') {
    return `${profile}/${(await post(`${base}/openai/v1/responses`, { model: 'gpt-4o', input: prompt, background: true }, headers)).id}`;
  }
  if (profile === 'replicate') {
    return `${profile}/${(await post(`${base}/replicate/v1/models/meta/llama-sim/predictions`, { input: { prompt } }, headers)).id}`;
  }
  return `${profile}/fal-ai:flux:${(await post(`${base}/fal/queue/fal-ai/flux/dev`, { prompt }, headers)).request_id}`;
}

/** Every seq of a finished job, read from its uniform stream (from the start to the terminal event). */
export async function historySeqs(base: string, job: string, headers: Record<string, string> = {}): Promise<number[]> {
  const slash = job.indexOf('/');
  const url = `${base}/v1/jobs/${job.slice(0, slash)}/${encodeURIComponent(job.slice(slash + 1))}/stream`;
  const result = await readSse(url, { headers, timeoutMs: 30_000 });
  return result.events.filter((event) => event.event === undefined).map((event) => Number(event.id));
}

/** What a page's dashboard shows of a job's card. */
export interface CardView {
  status: string | undefined;
  over: boolean;
  progress: number;
  images: string[];
  /** How many of the images the browser has loaded and decoded. */
  loaded: number;
  text: string | undefined;
  seqs: number[];
  gaps: number;
  buttons: string[];
}

export function cardView(page: Page, job: string): Promise<CardView | undefined> {
  return page.evaluate((name) => {
    const card = [...document.querySelectorAll<HTMLElement>('.card')].find((each) => each.dataset.job === name);
    if (!card) return undefined;
    return {
      status: card.dataset.status,
      over: card.dataset.over === 'true',
      progress: (card.querySelector('progress') as HTMLProgressElement).value,
      images: [...card.querySelectorAll('img')].map((img) => img.getAttribute('src') ?? ''),
      loaded: [...card.querySelectorAll('img')].filter((img) => img.complete && img.naturalWidth > 0).length,
      text: card.querySelector('.text')?.textContent ?? undefined,
      seqs: [...card.querySelectorAll<HTMLElement>('.log li[data-seq]')].map((li) => Number(li.dataset.seq)),
      gaps: card.querySelectorAll('.log li.gap').length,
      buttons: [...card.querySelectorAll<HTMLElement>('.buttons button')].map((button) => button.dataset.button ?? ''),
    };
  }, job);
}

/** The jobs a page shows, newest first. */
export const pageJobs = (page: Page) => page.$$eval('.card', (cards) => cards.map((card) => (card as HTMLElement).dataset.job ?? ''));

/** How many `GET /v1/stream` requests a gateway answered, from its access log lines. */
export function streamRequests(logs: readonly string[], status?: number): number {
  return logs.filter(
    (line) =>
      line.includes('"path":"/v1/stream"') &&
      line.includes('"msg":"request"') &&
      (status === undefined || line.includes(`"status":${status},`)),
  ).length;
}

/** What a page showed of each job over time: its result texts and progress values, each change in order. */
export interface Seen {
  texts: string[];
  progress: number[];
}

/** Records every text and progress value a page's cards show, in order (a MutationObserver), for the growth checks. */
export async function recordCards(page: Page): Promise<void> {
  await page.evaluate(() => {
    const seen: Record<string, { texts: string[]; progress: number[] }> = {};
    (window as unknown as { seenCards: typeof seen }).seenCards = seen;
    new MutationObserver(() => {
      for (const card of document.querySelectorAll<HTMLElement>('.card')) {
        const entry = (seen[card.dataset.job ?? ''] ??= { texts: [], progress: [] });
        const text = card.querySelector('.text')?.textContent;
        if (typeof text === 'string' && entry.texts.at(-1) !== text) entry.texts.push(text);
        const progress = card.querySelector('progress') as HTMLProgressElement;
        if (progress.hasAttribute('value') && entry.progress.at(-1) !== progress.value) entry.progress.push(progress.value);
      }
    }).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
  });
}

export const seenOf = (page: Page, job: string): Promise<Seen> =>
  page.evaluate((name) => (window as unknown as { seenCards: Record<string, Seen> }).seenCards[name] ?? { texts: [], progress: [] }, job);
