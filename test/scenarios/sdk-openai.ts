import OpenAI from 'openai';
import { beforeAll, describe, expect, it } from 'vitest';
import type { OpenAIStats } from '@sse-relay/simulator';
import { answerTypes, collect, expectSequence, responseIdOf, waitForStatus } from '../../packages/simulator/test/openai-helpers.ts';
import type { ScenarioTarget } from './target.ts';

/** The official SDK pointed at the relay's drop-in base URL, with the SDK's default retries. */
export const sdk = (t: { url: string }, apiKey = 'any-key-in-open-mode') =>
  new OpenAI({ apiKey, baseURL: `${t.url}/openai/v1`, maxRetries: 2 });

export type Event = OpenAI.Responses.ResponseStreamEvent;

/** `GET /_sim/openai/stats` of the simulator behind the target. */
export async function openaiStats(t: ScenarioTarget): Promise<OpenAIStats> {
  return (await (await fetch(`${new URL(t.simulatorUrl).origin}/_sim/openai/stats`)).json()) as OpenAIStats;
}

/** Upstream creates the simulator saw so far. */
export const upstreamCreates = async (t: ScenarioTarget) =>
  (await openaiStats(t)).requests.filter((request) => request.method === 'POST' && request.path === '/openai/v1/responses').length;

const textOf = (events: Event[]) => events.flatMap((event) => (event.type === 'response.output_text.delta' ? [event.delta] : [])).join('');

/** The official OpenAI SDK (openai 6.x) against a relay serving openai-responses, whatever the runtime behind the target. */
export function openaiSdkScenarios(t: () => ScenarioTarget): void {
  describe('openai-responses through the relay, with the official SDK', () => {
    let client: OpenAI;
    beforeAll(() => {
      client = sdk(t());
    });

    it('creates a background streaming response and reads it, event names, types and sequence as the vendor sends them', async () => {
      const before = (await openaiStats(t())).streamsServed;
      const stream = await client.responses.create({
        model: 'gpt-4o',
        input: 'hello --sim-steps 4 --sim-interval 5',
        background: true,
        stream: true,
      });
      const events = await collect(stream);
      expect(events.map((event) => event.type)).toEqual(answerTypes(4));
      expectSequence(events);
      const id = responseIdOf(events[0]);
      expect(id).toMatch(/^resp_/);
      const done = events.at(-1) as OpenAI.Responses.ResponseCompletedEvent;
      expect(done.response.output_text ?? done.response.output[0]).toBeTruthy();
      expect((await openaiStats(t())).streamsServed - before).toBe(1);
      // The raw frames: `event: <type>`, `id: <sequence_number>`, JSON data; only comments besides.
      const raw = await fetch(`${t().url}/openai/v1/responses/${id}?stream=true`);
      expect(raw.status).toBe(200);
      expect(raw.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const frames = (await raw.text()).split('\n\n').filter((frame) => frame.trim() !== '' && !/^retry: \d+$/.test(frame.trim()));
      expect(frames).toHaveLength(events.length);
      frames.forEach((frame, i) => {
        const event = events[i] as Event;
        expect(frame).toBe(`id: ${event.sequence_number}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}`);
      });
    });

    it('resumes with starting_after: after the upstream drops the create stream, and for a client whose connection was cut', async () => {
      const resumesBefore = (await openaiStats(t())).resumes;
      const stream = await client.responses.create({
        model: 'gpt-4o',
        input: 'resume --sim-steps 6 --sim-interval 20 --sim-drop-after 4',
        background: true,
        stream: true,
      });
      const seen: Event[] = [];
      // The client's own connection is cut after a few events.
      for await (const event of stream) {
        seen.push(event);
        if (seen.length === 3) break;
      }
      const id = responseIdOf(seen[0]);
      const last = (seen.at(-1) as Event).sequence_number;
      const rest = await collect(await client.responses.retrieve(id, { stream: true, starting_after: last }));
      const all = [...seen, ...rest];
      expect(all.map((event) => event.type)).toEqual(answerTypes(6));
      expectSequence(all);
      // The gateway resumed its own upstream stream after the drop, with starting_after, and lost nothing.
      expect((await openaiStats(t())).resumes).toBeGreaterThan(resumesBefore);
      expect(textOf(all)).toBe(((await client.responses.retrieve(id)).output[0] as { content: { text: string }[] }).content[0]?.text);
    });

    it('serves three SDK clients watching one response over one upstream stream', async () => {
      const before = (await openaiStats(t())).streamsServed;
      const stream = await client.responses.create({
        model: 'gpt-4o',
        input: 'fan --sim-steps 5 --sim-interval 40',
        background: true,
        stream: true,
      });
      const iterator = stream[Symbol.asyncIterator]();
      const first = (await iterator.next()).value as Event;
      const id = responseIdOf(first);
      const creator = (async () => {
        const events = [first];
        for (;;) {
          const next = await iterator.next();
          if (next.done) return events;
          events.push(next.value);
        }
      })();
      const watchers = [sdk(t()), sdk(t())].map(async (other) => collect(await other.responses.retrieve(id, { stream: true })));
      const [own, ...others] = await Promise.all([creator, ...watchers]);
      expect(own?.map((event) => event.type)).toEqual(answerTypes(5));
      for (const events of others) expect(events).toEqual(own);
      expect((await openaiStats(t())).streamsServed - before).toBe(1);
      expect((await openaiStats(t())).resumes).toBeGreaterThanOrEqual(0);
    });

    it("replays a whole response to the SDK's responses.stream({ response_id }) helper, response.created first; starting_after reads the rest", async () => {
      // The upstream drops the create's stream on the way: the relay resumes it.
      const created = await client.responses.create({
        model: 'gpt-4o',
        input: 'helper --sim-steps 3 --sim-interval 10 --sim-drop-after 4',
        background: true,
        stream: true,
      });
      const events = await collect(created);
      expect(events.map((event) => event.type)).toEqual(answerTypes(3));
      expectSequence(events);
      const id = responseIdOf(events[0]);
      const helper = client.responses.stream({ response_id: id });
      const replayed: Event[] = [];
      helper.on('event', (event) => void replayed.push(event));
      const final = await helper.finalResponse();
      expect(final.status).toBe('completed');
      expect(final.output_text).toBe(textOf(events));
      expect(replayed[0]?.type).toBe('response.created');
      expect(replayed.map((event) => event.sequence_number)).toEqual(events.map((event) => event.sequence_number));
      // Later in the response: the helper drops what it has already seen, client-side.
      const fromFive = client.responses.stream({ response_id: id, starting_after: 5 });
      expect((await fromFive.finalResponse()).output_text).toBe(textOf(events));
      // Read raw from there: exactly the events after 5.
      const rest = await collect(await client.responses.retrieve(id, { stream: true, starting_after: 5 }));
      expect(rest.map((event) => event.sequence_number)).toEqual(events.slice(6).map((event) => event.sequence_number));
    });

    it('answers stream:false with the response object, then retrieve follows it to its end', async () => {
      const queued = await client.responses.create({ model: 'gpt-4o', input: 'json --sim-steps 3 --sim-interval 20', background: true });
      expect(queued.id).toMatch(/^resp_/);
      expect(queued.object).toBe('response');
      expect(['queued', 'in_progress']).toContain(queued.status);
      const done = await waitForStatus(client, queued.id, 'completed');
      expect(done.output_text.length).toBeGreaterThan(0);
      // Its stream can still be read whole afterwards (the gateway streamed it upstream anyway).
      const events = await collect(await client.responses.retrieve(queued.id, { stream: true }));
      expect(events.map((event) => event.type)).toEqual(answerTypes(3));
      // After the terminal event: an empty 200 stream, never a 204.
      const after = await fetch(
        `${t().url}/openai/v1/responses/${queued.id}?stream=true&starting_after=${(events.at(-1) as Event).sequence_number}`,
      );
      expect(after.status).toBe(200);
      expect(await after.text()).toBe('');
      expect(await collect(await client.responses.retrieve(queued.id, { stream: true, starting_after: 9999 }))).toEqual([]);
    });

    it('answers a stream:false create without background once the response is over, as the blocking create does', async () => {
      const done = await client.responses.create({ model: 'gpt-4o', input: 'blocking --sim-steps 3 --sim-interval 20' });
      expect(done.id).toMatch(/^resp_/);
      expect(done.status).toBe('completed');
      expect(done.output_text.length).toBeGreaterThan(0);
      // It is a background response upstream (which lets the gateway resume and cancel it), and says so.
      expect(done.background).toBe(true);
      expect(await client.responses.retrieve(done.id)).toEqual(done);
      const events = await collect(await client.responses.retrieve(done.id, { stream: true }));
      // The object answered is the terminal event's (the SDK adds `output_text` to objects only).
      expect({ ...(events.at(-1) as OpenAI.Responses.ResponseCompletedEvent).response, output_text: done.output_text }).toEqual(done);
      // A failed response is answered failed, with its error, not thrown (as the vendor's blocking create answers it).
      const failed = await client.responses.create({
        model: 'gpt-4o',
        input: 'blocking --sim-outcome failed --sim-steps 1 --sim-interval 5',
      });
      expect(failed.status).toBe('failed');
      expect(failed.error?.code).toBeTruthy();
      // background: true keeps answering at once, while the response runs.
      const queued = await client.responses.create({ model: 'gpt-4o', input: 'long --sim-steps 400 --sim-interval 50', background: true });
      expect(['queued', 'in_progress']).toContain(queued.status);
      expect((await client.responses.cancel(queued.id)).status).toBe('cancelled');
    });

    it('sends a blocking create its headers at once and the final object when the response ends (here: cancelled)', async () => {
      const response = await fetch(`${t().url}/openai/v1/responses`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o', input: 'held --sim-steps 400 --sim-interval 50' }),
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      const id = response.headers.get('x-job-id') as string;
      expect(id).toMatch(/^resp_/);
      // The response still runs: cancelling it ends the wait, and the answer is the cancelled object.
      expect((await client.responses.cancel(id)).status).toBe('cancelled');
      const body = (await response.json()) as { id: string; status: string };
      expect(body).toMatchObject({ id, object: 'response', status: 'cancelled' });
    });

    it('cancels a running response: the stream ends with response.failed, status cancelled', async () => {
      const stream = await client.responses.create({
        model: 'gpt-4o',
        input: 'long --sim-steps 500 --sim-interval 30',
        background: true,
        stream: true,
      });
      const events: Event[] = [];
      let cancelled: OpenAI.Responses.Response | undefined;
      for await (const event of stream) {
        events.push(event);
        if (event.type === 'response.output_text.delta' && !cancelled) cancelled = await client.responses.cancel(responseIdOf(events[0]));
      }
      expect(cancelled?.status).toBe('cancelled');
      const last = events.at(-1) as OpenAI.Responses.ResponseFailedEvent;
      expect(last.type).toBe('response.failed');
      expect(last.response.status).toBe('cancelled');
      expect((await client.responses.retrieve(responseIdOf(events[0]))).status).toBe('cancelled');
      // The SDK's cancel has no body; open mode still refuses one from another site.
      const crossSite = await fetch(`${t().url}/openai/v1/responses/${responseIdOf(events[0])}/cancel`, {
        method: 'POST',
        headers: { Origin: 'http://evil.example', 'Sec-Fetch-Site': 'cross-site' },
      });
      expect(crossSite.status).toBe(403);
      expect(((await crossSite.json()) as { code: string }).code).toBe('forbidden');
      // Deleting it passes through too.
      await client.responses.delete(responseIdOf(events[0]));
    });

    it('falls back to polling after an upstream drop past the resume window, and still ends with the vendor-shaped terminal', async () => {
      const stream = await client.responses.create({
        model: 'gpt-4o',
        input: 'window --sim-steps 4 --sim-interval 30 --sim-drop-after 3 --sim-resume-window 1',
        background: true,
        stream: true,
      });
      const events = await collect(stream);
      const id = responseIdOf(events[0]);
      const last = events.at(-1) as OpenAI.Responses.ResponseCompletedEvent;
      expect(last.type).toBe('response.completed');
      expect(last.response.id).toBe(id);
      expect(last.response.status).toBe('completed');
      expect(last.response.output.length).toBe(1);
      expect(events.slice(0, 3).map((event) => event.type)).toEqual(answerTypes(4).slice(0, 3));
      // Sequence numbers keep rising; the synthesized terminal takes the next one.
      const numbers = events.map((event) => event.sequence_number);
      expect([...numbers].sort((a, b) => a - b)).toEqual(numbers);
      expect(new Set(numbers).size).toBe(numbers.length);
      expect((await openaiStats(t())).polls[id]).toBeGreaterThan(0);
      // The helper takes the replay for a finished answer.
      expect((await client.responses.stream({ response_id: id }).finalResponse()).status).toBe('completed');
    });

    it('passes vendor rejections on in OpenAI shape with x-should-retry: false, so the SDK never retries into a second job', async () => {
      for (const [status, expected] of [
        [500, 502],
        [503, 502],
        [429, 429],
        [400, 400],
      ] as const) {
        const before = await upstreamCreates(t());
        const error = await client.responses
          .create({ model: 'gpt-4o', input: `reject --sim-status ${status}`, background: true, stream: true })
          .then(
            () => undefined,
            (err: unknown) => err,
          );
        expect(error, `sim status ${status}`).toBeInstanceOf(OpenAI.APIError);
        const apiError = error as InstanceType<typeof OpenAI.APIError>;
        expect(apiError.status).toBe(expected);
        expect(apiError.headers?.get('x-should-retry')).toBe('false');
        expect(apiError.error).toMatchObject({ message: expect.any(String), type: expect.any(String) });
        expect((await upstreamCreates(t())) - before, `one upstream create for ${status}`).toBe(1);
      }
    });

    it('answers unknown responses and bad input in OpenAI shape', async () => {
      const missing = await client.responses.retrieve('resp_unknown').then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
      const bad = await fetch(`${t().url}/openai/v1/responses`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: '[1]',
      });
      expect(bad.status).toBe(400);
      expect(bad.headers.get('x-should-retry')).toBe('false');
      expect(await bad.json()).toEqual({
        error: { message: 'request body must be a JSON object', type: 'invalid_request_error', param: null, code: 'bad_request' },
      });
      const cursor = await fetch(`${t().url}/openai/v1/responses/resp_x?stream=true&starting_after=-1`);
      expect(cursor.status).toBe(400);
      expect(((await cursor.json()) as { error: { code: string } }).error.code).toBe('bad_request');
      const route = await fetch(`${t().url}/openai/v1/models`);
      expect(route.status).toBe(404);
      expect(((await route.json()) as { error: { type: string } }).error.type).toBe('invalid_request_error');
    });
  });
}
