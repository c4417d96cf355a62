import { connect } from 'node:net';
import { EventSource } from 'eventsource';
import { describe, expect, it } from 'vitest';
import {
  OTHER_PUBLISHER_KEY,
  PUBLISHER_KEY,
  eventsUrl,
  newPublishedJob,
  publishJson,
  publishNdjson,
  publishedStreamUrl,
} from '../support/publisher.ts';
import { findDecoded } from '../support/decode.ts';
import { API_KEY, hostileJsonStrings } from '../support/security.ts';
import { readSse } from '../support/sse.ts';
import { until } from '../support/until.ts';

/** What the publish scenarios need: a secured gateway (SECURED) with PUBLISHERS (test/support/publisher.ts), PUBLISH_MAX_EVENT_BYTES=2048 and PUBLISH_MAX_EVENTS=20. */
export interface PublishTarget {
  url: string;
  /** The log lines so far, where the runtime shows them (Node): a cut request is known handled once it logged. */
  logs?(): string[];
}

/**
 * The publish API on every runtime (secured): what a publisher gets back, what subscribers
 * (reading with the publisher key, a token, or EventSource) see, and what is refused.
 */
export function publishScenarios(t: () => PublishTarget): void {
  const stream = (jobId: string, query = '') => publishedStreamUrl(t().url, 'render', jobId, query);
  const withPublisher = { Authorization: `Bearer ${PUBLISHER_KEY}` };
  /** The job's events as a subscriber with the publisher key reads them (to its end). */
  const watchAll = (jobId: string, query = '') => readSse(stream(jobId, query), { headers: withPublisher });
  const latest = async (jobId: string) => {
    const response = await fetch(`${t().url}/v1/jobs/render/${jobId}`, { headers: withPublisher });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  describe('publish API', () => {
    it('keeps the whole lines of an NDJSON publish cut mid-way, never its partial last line', async () => {
      const job = newPublishedJob('cut');
      const { hostname, port } = new URL(t().url);
      const socket = connect(Number(port), hostname);
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      socket.on('error', () => undefined);
      socket.write(
        `POST /v1/jobs/render/${job}/events HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAuthorization: Bearer ${PUBLISHER_KEY}\r\n` +
          'Content-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n',
      );
      const chunk = (text: string) => socket.write(`${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`);
      // The last line is whole JSON but has no newline yet: only a clean end of the body would make it an event.
      chunk('{"data":"a","seq":0}\n{"data":"b","seq":1}\n{"data":"partial","se');
      chunk('q":2}');
      await until(async () => (await latest(job)).body.seq === 1, 'the whole lines stored');
      socket.destroy();
      const logs = t().logs;
      if (logs) await until(() => logs().some((line) => line.includes(`/v1/jobs/render/${job}/events`)), 'the cut request handled');
      // The publisher resumes with its next seq. Had the partial line been stored, seq 2 would be a duplicate.
      const resumed = await publishJson(t().url, job, [
        { data: 'c', seq: 2 },
        { data: 'd', seq: 3, terminal: true },
      ]);
      expect(resumed.body).toMatchObject({ stored: [2, 3], duplicates: [] });
      expect((await watchAll(job)).events.map((event) => event.data)).toEqual(['"a"', '"b"', '"c"', '"d"']);
    });

    it('caps an event (413) and the events of one request (400), naming them and storing nothing', async () => {
      const job = newPublishedJob();
      const big = await publishJson(t().url, job, [{ data: 'x' }, { data: 'y'.repeat(3000) }]);
      expect(big).toMatchObject({ status: 413, body: { code: 'payload_too_large' } });
      expect(big.body.error).toMatch(/^events\[1\]: data exceeds 2048 bytes/);
      const many = await publishJson(
        t().url,
        job,
        Array.from({ length: 21 }, (_, i) => ({ data: i })),
      );
      expect(many).toMatchObject({ status: 400, body: { code: 'bad_request' } });
      expect((await latest(job)).status).toBe(404);
    });

    it('frames the publisher data with id: seq and its event name; answers what was stored; serves the latest event', async () => {
      const job = newPublishedJob();
      const first = await publishJson(t().url, job, { data: { step: 1, note: 'é ✓' }, event: 'progress' });
      expect(first).toMatchObject({
        status: 200,
        body: { job, namespace: 'render', stored: [0], duplicates: [], last_seq: 0, ended: false },
      });
      const batch = await publishJson(t().url, job, [
        { data: 'plain text' },
        { data: [1, null, true] },
        { data: { done: true }, event: 'done', terminal: true },
      ]);
      expect(batch.body).toMatchObject({ stored: [1, 2, 3], last_seq: 3, ended: true });
      const seen = await watchAll(job);
      expect(seen.status).toBe(200);
      expect(seen.events.map((event) => [event.id, event.event, event.data])).toEqual([
        ['0', 'progress', '{"step":1,"note":"é ✓"}'],
        ['1', undefined, '"plain text"'],
        ['2', undefined, '[1,null,true]'],
        ['3', 'done', '{"done":true}'],
      ]);
      expect((await fetch(stream(job), { headers: { ...withPublisher, 'Last-Event-ID': '3' } })).status).toBe(204);
      expect(await latest(job)).toMatchObject({
        status: 200,
        body: { job, namespace: 'render', seq: 3, event: 'done', data: { done: true }, terminal: true },
      });
      expect((await latest(newPublishedJob('none'))).status).toBe(404);
    });

    it('stores retried seqs once, announces a jump as a gap, and refuses new events after the terminal one (409)', async () => {
      const job = newPublishedJob();
      const events = [
        { data: 'a', seq: 1 },
        { data: 'b', seq: 2 },
      ];
      expect((await publishJson(t().url, job, events)).body).toMatchObject({ stored: [1, 2], duplicates: [] });
      expect((await publishJson(t().url, job, events)).body).toMatchObject({ stored: [], duplicates: [1, 2], last_seq: 2 });
      expect((await publishJson(t().url, job, { data: 'end', seq: 5, terminal: true })).body).toMatchObject({ stored: [5], ended: true });
      // A retry of the end is acknowledged; anything new is refused.
      expect((await publishJson(t().url, job, { data: 'end', seq: 5, terminal: true })).body).toMatchObject({
        stored: [],
        duplicates: [5],
      });
      const late = await publishJson(t().url, job, { data: 'late' });
      expect(late).toMatchObject({ status: 409, body: { code: 'conflict' } });
      const seen = await watchAll(job);
      expect(seen.events.map((event) => [event.event ?? 'message', event.data])).toEqual([
        ['message', '"a"'],
        ['message', '"b"'],
        ['gap', '{"from":3,"to":4}'],
        ['message', '"end"'],
      ]);
    });

    it('stores nothing of a batch with one bad event, naming it', async () => {
      const job = newPublishedJob();
      for (const [events, message] of [
        [[{ data: 1 }, { data: 2, seq: 'x' }], /^events\[1\]: seq must be an integer/],
        [[{ data: 1 }, { event: 'e' }], /^events\[1\]: data is required/],
        [[{ data: 1 }, { data: 2, colour: 'red' }], /^events\[1\]: unknown field "colour"/],
        [
          [
            { data: 1, seq: 3 },
            { data: 2, seq: 3 },
          ],
          /^events\[1\]: seq 3 does not go up/,
        ],
        [[{ data: 1, seq: 0 }, { data: 2 }], /^events\[1\]: every event of one request has a seq, or none has/],
        [[{ data: 1, terminal: true }, { data: 2 }], /^events\[1\]: comes after the terminal event/],
        [{ data: 1, event: 'gap' }, /^event: event must be a name/],
        ['{"data":', /not valid JSON/],
        [[], /an array of 1-20 events/],
      ] as const) {
        const refused = await publishJson(t().url, job, events);
        expect(refused.status).toBe(400);
        expect(refused.body).toMatchObject({ code: 'bad_request' });
        expect(refused.body.error).toMatch(message);
      }
      expect((await latest(job)).status).toBe(404);
    });

    it('refuses a missing or unknown key (401) and a key of another namespace or an API key (403/401)', async () => {
      const job = newPublishedJob();
      const missing = await publishJson(t().url, job, { data: 1 }, { key: null });
      expect(missing.status).toBe(401);
      expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect((await publishJson(t().url, job, { data: 1 }, { key: 'pub-render-0123456789abcdeX' })).status).toBe(401);
      expect((await publishJson(t().url, job, { data: 1 }, { key: API_KEY })).status).toBe(401);
      const other = await publishJson(t().url, job, { data: 1 }, { key: OTHER_PUBLISHER_KEY });
      expect(other).toMatchObject({ status: 403, body: { code: 'forbidden' } });
      expect((await publishJson(t().url, job, { data: 1 }, { key: OTHER_PUBLISHER_KEY, namespace: 'midjourney-v3' })).status).toBe(403);
      expect((await latest(job)).status).toBe(404);
      // Subscribers need a token or a key of theirs as for any job.
      await publishJson(t().url, job, { data: 1 });
      expect((await fetch(stream(job))).status).toBe(401);
      expect((await fetch(stream(job), { headers: { Authorization: `Bearer ${OTHER_PUBLISHER_KEY}` } })).status).toBe(403);
    });

    it('lets a publisher key mint subscribe tokens for its own namespace only', async () => {
      const job = newPublishedJob();
      await publishJson(t().url, job, [{ data: 'x' }, { data: 'y', terminal: true }]);
      const mint = (jobs: string[], key = PUBLISHER_KEY) =>
        fetch(`${t().url}/v1/tokens`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${key}` },
          body: JSON.stringify({ jobs }),
        });
      const minted = await mint([`render:${job}`]);
      expect(minted.status).toBe(201);
      const { token, stream_urls } = (await minted.json()) as { token: string; stream_urls: Record<string, string> };
      expect(stream_urls[`render:${job}`]).toBe(`/v1/jobs/render/${job}/stream?token=${encodeURIComponent(token)}`);
      const seen = await readSse(`${t().url}${stream_urls[`render:${job}`]}`);
      expect(seen.events.map((event) => event.data)).toEqual(['"x"', '"y"']);
      expect((await mint([`other:${job}`])).status).toBe(403);
      expect((await mint([`render:${job}`, 'midjourney-v3:abc'])).status).toBe(403);
      expect((await mint([`render:${job}`], 'pub-unknown-0123456789abcdef')).status).toBe(401);
    });

    it('streams NDJSON over one request: each line reaches a browser (EventSource) as it arrives', async () => {
      const job = newPublishedJob();
      await publishJson(t().url, job, { data: { step: 0 } });
      const seen: string[] = [];
      const source = new EventSource(stream(job), {
        fetch: (url, init) => fetch(url, { ...init, headers: { ...init?.headers, ...withPublisher } }),
      });
      source.addEventListener('progress', (message) => void seen.push(message.data));
      source.onmessage = (message) => void seen.push(message.data);
      const lines = [1, 2, 3].map((step) => ({ data: { step }, event: 'progress' }));
      const published = publishNdjson(t().url, job, [...lines, { data: { step: 4, done: true }, terminal: true }], { intervalMs: 30 });
      // The first lines are framed while the request is still open.
      await until(() => seen.length >= 2, 'the first streamed lines');
      expect((await published).body).toMatchObject({ stored: [1, 2, 3, 4], last_seq: 4, ended: true });
      await until(() => seen.length === 5, 'every line');
      source.close();
      expect(seen).toEqual(['{"step":0}', '{"step":1}', '{"step":2}', '{"step":3}', '{"step":4,"done":true}']);
    });

    it('answers a bad NDJSON line with 400 naming it and what the lines before it stored', async () => {
      const job = newPublishedJob();
      const result = await publishNdjson(t().url, job, [{ data: 1 }, { data: 2 }, { nope: 3 }, { data: 4 }], { intervalMs: 20 });
      expect(result.status).toBe(400);
      expect(result.body).toMatchObject({ code: 'bad_request', stored: [0, 1], last_seq: 1 });
      expect(result.body.error).toMatch(/^line 3: unknown field "nope"/);
    });

    it('never lets a publisher key out: not in frames, answers or errors', async () => {
      const job = newPublishedJob();
      await publishJson(t().url, job, { data: { echo: PUBLISHER_KEY, other: `x${OTHER_PUBLISHER_KEY}x` }, terminal: true });
      const seen = await watchAll(job);
      const answers = [
        seen.raw,
        JSON.stringify((await latest(job)).body),
        JSON.stringify((await publishJson(t().url, job, { data: 1 }, { key: `${PUBLISHER_KEY}x` })).body),
        JSON.stringify((await publishJson(t().url, job, { data: PUBLISHER_KEY, seq: 'bad' })).body),
        await (await fetch(eventsUrl(t().url, 'render', job), { method: 'POST', headers: withPublisher, body: PUBLISHER_KEY })).text(),
      ];
      expect(seen.events[0]?.data).toBe('{"echo":"[redacted]","other":"x[redacted]x"}');
      // The key in every encoding a reader could decode (JSON escapes, percent, hex, base64) is cut out too.
      const hostile = newPublishedJob('hostile');
      const forms = hostileJsonStrings(PUBLISHER_KEY).join(',');
      expect((await publishJson(t().url, hostile, `{"data":{"forms":[${forms}]},"terminal":true}`)).status).toBe(200);
      answers.push((await watchAll(hostile)).raw, JSON.stringify((await latest(hostile)).body));
      for (const text of answers) {
        for (const key of [PUBLISHER_KEY, OTHER_PUBLISHER_KEY]) expect(findDecoded(text, key), text.slice(0, 300)).toBeUndefined();
      }
    });
  });
}
