import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSse, startSimulator } from './helpers.ts';
import type { RunningSimulator } from './helpers.ts';
import {
  answerTypes,
  collect,
  expectSequence,
  openaiEvents,
  openaiFetch,
  postResponse,
  responseIdOf,
  sdkClient,
  waitForStatus,
} from './openai-helpers.ts';
import type { StreamEvent } from './openai-helpers.ts';

let s: RunningSimulator;
let client: OpenAI;
beforeAll(async () => {
  s = await startSimulator({ maxJobs: 100 });
  client = sdkClient(s.origin);
});
afterAll(() => s.close());

const deltasOf = (events: ReadonlyArray<{ type: string }>) =>
  events.flatMap((event) => (event.type === 'response.output_text.delta' ? [(event as unknown as { delta: string }).delta] : []));

describe('background + stream through the official SDK', () => {
  it('sends the events in the vendor order, numbered from 0 without gaps, and a completed response', async () => {
    const stream = await client.responses.create({ model: 'gpt-4o', input: 'say hello --sim-steps 3', background: true, stream: true });
    const events = await collect(stream);
    expect(events.map((e) => e.type)).toEqual(answerTypes(3));
    expectSequence(events);

    const [created, queued, inProgress] = events;
    if (created?.type !== 'response.created' || queued?.type !== 'response.queued' || inProgress?.type !== 'response.in_progress') {
      throw new Error('unexpected first events');
    }
    expect(created.response).toMatchObject({
      object: 'response',
      status: 'queued',
      background: true,
      model: 'gpt-4o',
      output: [],
      usage: null,
    });
    expect(created.response.id).toMatch(/^resp_[0-9a-f]{48}$/);
    expect(queued.response.status).toBe('queued');
    expect(inProgress.response.status).toBe('in_progress');

    const deltas = events.filter((e) => e.type === 'response.output_text.delta');
    for (const delta of deltas) expect((delta as unknown as { obfuscation: string }).obfuscation).toMatch(/^[A-Za-z0-9]+$/);
    const text = deltasOf(events).join('');
    expect(text.split(' ')).toHaveLength(3);

    const last = events.at(-1);
    if (last?.type !== 'response.completed') throw new Error('no response.completed');
    const item = { type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text, annotations: [] }] };
    expect(last.response).toMatchObject({
      id: created.response.id,
      status: 'completed',
      error: null,
      incomplete_details: null,
      output: [item],
    });
    expect(last.response.completed_at).toBeGreaterThanOrEqual(created.response.created_at);
    expect(last.response.usage).toMatchObject({ input_tokens: 4, output_tokens: 3, total_tokens: 7 });
    expect(last.response.output[0]?.id).toMatch(/^msg_/);
    expect(await client.responses.retrieve(created.response.id)).toMatchObject({ status: 'completed', output_text: text });
  });

  it('serves the stream() helper of a new background response, which sends its own header', async () => {
    const final = await client.responses.stream({ model: 'm', input: 'x --sim-steps 2', background: true }).finalResponse();
    expect(final).toMatchObject({ status: 'completed', background: true });
    expect(final.output_text.split(' ')).toHaveLength(2);
  });

  it('derives the same text from the same input', async () => {
    const read = async () =>
      deltasOf(await collect(await client.responses.create({ model: 'm', input: 'same words', background: true, stream: true })));
    const [first, second] = await Promise.all([read(), read()]);
    expect(first).toHaveLength(8);
    expect(second).toEqual(first);
  });

  it('reads the directives from the first input_text item of an input array', async () => {
    const input = [
      { type: 'message' as const, role: 'user' as const, content: [{ type: 'input_text' as const, text: 'hi --sim-steps 1' }] },
    ];
    const events = await collect(await client.responses.create({ model: 'm', input, background: true, stream: true }));
    expect(events.map((e) => e.type)).toEqual(answerTypes(1));
  });
});

describe('framing', () => {
  it('is an event: line naming the type and one data: line of JSON per event, with no id: or retry:', async () => {
    const response = await postResponse(s.origin, { model: 'm', input: 'frame me --sim-steps 2', background: true, stream: true });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(response.headers.get('x-request-id')).toMatch(/^req_[0-9a-f]{32}$/);
    const raw = await response.text();
    expect(raw.endsWith('}\n\n')).toBe(true);
    const frames = raw.slice(0, -2).split('\n\n');
    frames.forEach((frame, i) => {
      const match = /^event: (\S+)\ndata: (\{[^\n]*\})$/.exec(frame);
      if (!match) throw new Error(`bad frame ${frame}`);
      const data = JSON.parse(match[2]!) as StreamEvent;
      expect(data.type).toBe(match[1]);
      expect(Object.keys(data).slice(0, 2)).toEqual(['type', 'sequence_number']);
      expect(data.sequence_number).toBe(i);
    });
    expect(frames.map((frame) => frame.slice(7, frame.indexOf('\n')))).toEqual(answerTypes(2));
  });

  it('drops the obfuscation field when stream_options.include_obfuscation is false', async () => {
    const body = { model: 'm', input: 'x --sim-steps 2', background: true, stream: true, stream_options: { include_obfuscation: false } };
    const events = openaiEvents(await (await postResponse(s.origin, body)).text());
    const deltas = events.filter((e) => e.type === 'response.output_text.delta');
    expect(deltas).toHaveLength(2);
    for (const delta of deltas) expect(delta).not.toHaveProperty('obfuscation');

    const id = responseIdOf(events[0]);
    const resumed = openaiEvents(await (await openaiFetch(s.origin, `/responses/${id}?stream=true&include_obfuscation=false`)).text());
    expect(resumed.filter((e) => e.type === 'response.output_text.delta').some((e) => 'obfuscation' in e)).toBe(false);
    const full = openaiEvents(await (await openaiFetch(s.origin, `/responses/${id}?stream=true`)).text());
    expect(full.filter((e) => e.type === 'response.output_text.delta').every((e) => typeof e.obfuscation === 'string')).toBe(true);
  });

  it('sends keepalive events, numbered like the others, under --sim-keepalive', async () => {
    const raw = await (
      await postResponse(s.origin, { model: 'm', input: 'x --sim-steps 2 --sim-keepalive', background: true, stream: true })
    ).text();
    const events = openaiEvents(raw);
    expectSequence(events);
    const keepalives = events.filter((e) => e.type === 'keepalive');
    expect(keepalives).toHaveLength(3);
    expect(raw).toContain(`event: keepalive\ndata: {"type":"keepalive","sequence_number":${keepalives[0]!.sequence_number}}\n\n`);
    expect(events.filter((e) => e.type !== 'keepalive').map((e) => e.type)).toEqual(answerTypes(2));
  });

  it('sends no keepalive and no comment line otherwise', async () => {
    const raw = await (await postResponse(s.origin, { model: 'm', input: 'x --sim-steps 2', background: true, stream: true })).text();
    expect(raw).not.toContain('keepalive');
    expect(raw.split('\n').some((line) => line.startsWith(':'))).toBe(false);
  });

  it('mixes malformed lines between the events under --sim-garbage, on the first stream and on resumes', async () => {
    const response = await postResponse(s.origin, { model: 'm', input: 'x --sim-steps 4 --sim-garbage', background: true, stream: true });
    const raw = await response.text();
    expect(raw).toContain(': simulator comment');
    expect(raw).toContain('data: {this is not json');
    expect(raw).toContain('\r\n');
    const valid = (body: string) =>
      parseSse(body).flatMap((message) => {
        try {
          const event = JSON.parse(message.data) as StreamEvent;
          return Number.isInteger(event.sequence_number) ? [event] : [];
        } catch {
          return [];
        }
      });
    const events = valid(raw);
    expect(events.map((e) => e.type)).toEqual(answerTypes(4));
    expectSequence(events);
    expect(events[0]).toHaveProperty('sim_unknown');

    const id = responseIdOf(events[0]);
    const resumed = await (await openaiFetch(s.origin, `/responses/${id}?stream=true&starting_after=5`)).text();
    expect(resumed).toContain(': simulator comment');
    expectSequence(valid(resumed), 6);
  });
});

describe('resuming', () => {
  it('cuts the first stream after --sim-drop-after events and resumes with starting_after where it stopped', async () => {
    const first = await collect(
      await client.responses.create({
        model: 'm',
        input: 'resume me --sim-steps 4 --sim-drop-after 4 --sim-interval 20',
        background: true,
        stream: true,
      }),
    );
    expect(first.map((e) => e.type)).toEqual(answerTypes(4).slice(0, 4));
    const id = responseIdOf(first[0]);

    const rest = await collect(await client.responses.retrieve(id, { stream: true, starting_after: 3 }));
    expect(rest[0]?.sequence_number).toBe(4);
    const all = [...first, ...rest];
    expect(all.map((e) => e.type)).toEqual(answerTypes(4));
    expectSequence(all);
    const done = all.at(-1) as OpenAI.Responses.ResponseCompletedEvent;
    expect(done.response.output_text ?? deltasOf(all).join('')).toBe(deltasOf(all).join(''));
  });

  it('replays from event 0 without starting_after, as the stream({ response_id }) helper asks', async () => {
    const created = await client.responses.create({
      model: 'm',
      input: 'x --sim-steps 3 --sim-keepalive --sim-drop-after 2',
      background: true,
      stream: true,
    });
    const first = await collect(created);
    const id = responseIdOf(first[0]);

    const seen: number[] = [];
    const helper = client.responses.stream({ response_id: id, starting_after: 1 });
    helper.on('event', (event) => seen.push(event.sequence_number));
    const final = await helper.finalResponse();
    expect(final.status).toBe('completed');
    expect(final.output_text.split(' ')).toHaveLength(3);
    expect(seen[0]).toBe(2);
    expectSequence(
      seen.map((n) => ({ sequence_number: n })),
      2,
    );
    const requests = s.sim.openaiStats().requests.filter((r) => r.path === `/openai/v1/responses/${id}`);
    expect(requests).toHaveLength(1);
  });

  it('goes on live after the replay until the terminal event', async () => {
    const first = await collect(
      await client.responses.create({
        model: 'm',
        input: 'x --sim-steps 5 --sim-interval 30 --sim-drop-after 1',
        background: true,
        stream: true,
      }),
    );
    const id = responseIdOf(first[0]);
    const events = await collect(await client.responses.retrieve(id, { stream: true }));
    expect(events.map((e) => e.type)).toEqual(answerTypes(5));
    expectSequence(events);
  });

  it('serves several readers of one running response the same events', async () => {
    const [created] = await collect(
      await client.responses.create({
        model: 'm',
        input: 'x --sim-steps 4 --sim-interval 20 --sim-drop-after 1',
        background: true,
        stream: true,
      }),
    );
    const id = responseIdOf(created);
    const readers = await Promise.all(
      [0, 1, 2].map(async () => collect(await client.responses.retrieve(id, { stream: true, starting_after: 0 }))),
    );
    for (const events of readers) {
      expect(events.map((e) => e.type)).toEqual(answerTypes(4).slice(1));
      expectSequence(events, 1);
    }
    expect(readers[1]).toEqual(readers[0]);
    expect(readers[2]).toEqual(readers[0]);
  });

  it('answers a cursor at or after the last event of a finished response with an empty 200 stream, closed', async () => {
    const events = await collect(await client.responses.create({ model: 'm', input: 'x --sim-steps 1', background: true, stream: true }));
    const id = responseIdOf(events[0]);
    const last = events.at(-1)!.sequence_number;
    for (const after of [last, last + 10]) {
      const response = await openaiFetch(s.origin, `/responses/${id}?stream=true&starting_after=${after}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expect(await response.text()).toBe('');
    }
    expect(await collect(await client.responses.retrieve(id, { stream: true, starting_after: last }))).toEqual([]);
  });

  it('keeps the create stream open but quiet after --sim-silent-after events while the response goes on', async () => {
    const own = await startSimulator();
    try {
      const response = await postResponse(own.origin, {
        model: 'm',
        input: 'x --sim-steps 2 --sim-silent-after 3',
        background: true,
        stream: true,
      });
      const reader = response.body!.getReader();
      const decoder = new TextDecoder();
      let raw = '';
      while (openaiEvents(raw).length < 3) {
        const { value, done } = await reader.read();
        if (done) throw new Error('stream closed');
        raw += decoder.decode(value, { stream: true });
      }
      const id = responseIdOf(openaiEvents(raw)[0]);
      await waitForStatus(sdkClient(own.origin), id, 'completed');
      const next = reader.read();
      const pending = await Promise.race([next.then(() => 'data'), new Promise((resolve) => setTimeout(() => resolve('pending'), 100))]);
      expect(pending).toBe('pending');
      own.sim.close();
      const after = await next;
      expect(after.done).toBe(true);
      expect(openaiEvents(raw)).toHaveLength(3);
    } finally {
      await own.close();
    }
  });
});

describe('how a response ends', () => {
  it('ends incomplete when max_output_tokens is below the deltas, or under --sim-outcome incomplete', async () => {
    for (const [input, max] of [
      ['x --sim-steps 5', 2],
      ['x --sim-steps 2 --sim-outcome incomplete', undefined],
    ] as const) {
      const events = await collect(
        await client.responses.create({ model: 'm', input, background: true, stream: true, ...(max ? { max_output_tokens: max } : {}) }),
      );
      expect(events.map((e) => e.type)).toEqual(answerTypes(2, 'response.incomplete'));
      const last = events.at(-1) as OpenAI.Responses.ResponseIncompleteEvent;
      expect(last.response).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } });
      expect(last.response.output[0]).toMatchObject({ status: 'incomplete' });
    }
  });

  it('ends with response.failed carrying a server_error under --sim-outcome failed', async () => {
    const events = await collect(
      await client.responses.create({ model: 'm', input: 'x --sim-steps 2 --sim-outcome failed', background: true, stream: true }),
    );
    expect(events.map((e) => e.type)).toEqual([...answerTypes(2).slice(0, 7), 'response.failed']);
    expectSequence(events);
    const last = events.at(-1) as OpenAI.Responses.ResponseFailedEvent;
    expect(last.response).toMatchObject({ status: 'failed', error: { code: 'server_error' }, completed_at: null });
    expect(last.response.error?.message).toMatch(/Simulated failure/);
  });

  it('sends the nested error event, then response.failed, under --sim-outcome error; the SDK throws on it', async () => {
    const raw = await (
      await postResponse(s.origin, { model: 'm', input: 'x --sim-steps 1 --sim-outcome error', background: true, stream: true })
    ).text();
    const events = openaiEvents(raw);
    expect(events.map((e) => e.type).slice(-3)).toEqual(['response.output_text.delta', 'error', 'response.failed']);
    expectSequence(events);
    const error = events.at(-2)!;
    expect(error).toEqual({
      type: 'error',
      sequence_number: error.sequence_number,
      error: { type: 'server_error', code: 'server_error', message: expect.stringMatching(/Simulated failure/), param: null },
    });

    const stream = await client.responses.create({
      model: 'm',
      input: 'x --sim-steps 1 --sim-outcome error',
      background: true,
      stream: true,
    });
    const failure = await collect(stream).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(OpenAI.APIError);
    expect((failure as Error).message).toMatch(/Simulated failure/);
  });

  it('lets the stream({ response_id }) helper read every outcome', async () => {
    for (const [outcome, status] of [
      ['completed', 'completed'],
      ['incomplete', 'incomplete'],
      ['failed', 'failed'],
    ] as const) {
      const input = `x --sim-steps 2 --sim-keepalive --sim-drop-after 1 --sim-outcome ${outcome}`;
      const [created] = await collect(await client.responses.create({ model: 'm', input, background: true, stream: true }));
      const id = responseIdOf(created);
      const final = await client.responses.stream({ response_id: id }).finalResponse();
      expect(final.status).toBe(status);
    }
  });
});

describe('background without stream', () => {
  it('answers the queued response at once, runs on, and is polled, not streamed (the guide: only stream=true ones are)', async () => {
    const queued = await client.responses.create({ model: 'm', input: 'x --sim-steps 2', background: true });
    expect(queued).toMatchObject({ object: 'response', status: 'queued', background: true, output: [], usage: null, completed_at: null });
    const done = await waitForStatus(client, queued.id, 'completed');
    expect(done.output_text.split(' ')).toHaveLength(2);
    const refused = await client.responses.retrieve(queued.id, { stream: true }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OpenAI.BadRequestError);
    expect(s.sim.openaiStats().polls[queued.id]).toBeGreaterThanOrEqual(1);
  });
});

describe('without background', () => {
  it('streams without response.queued, created in_progress, and refuses a resume with the vendor 400', async () => {
    const events = await collect(await client.responses.create({ model: 'm', input: 'x --sim-steps 2', stream: true }));
    expect(events.map((e) => e.type)).toEqual(answerTypes(2, 'response.completed', false));
    const created = events[0] as OpenAI.Responses.ResponseCreatedEvent;
    expect(created.response).toMatchObject({ status: 'in_progress', background: false });
    const id = created.response.id;
    const refused = await client.responses.retrieve(id, { stream: true }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OpenAI.BadRequestError);
    expect((refused as Error).message).toBe('400 This response cannot be streamed because it was not created with background=true.');
    expect(await client.responses.retrieve(id)).toMatchObject({ status: 'completed' });
  });

  it('answers stream:false with the finished response', async () => {
    const response = await client.responses.create({ model: 'm', input: 'x --sim-steps 2 --sim-interval 1' });
    expect(response).toMatchObject({ status: 'completed', background: false });
    expect(response.output_text.split(' ')).toHaveLength(2);
  });
});

describe('simulator.close()', () => {
  it('ends every open stream and stops every timer', async () => {
    const own = await startSimulator();
    try {
      const response = await postResponse(own.origin, { model: 'm', input: 'x --sim-interval 60000', background: true, stream: true });
      const reader = response.body!.getReader();
      await reader.read();
      own.sim.close();
      let done = false;
      while (!done) done = (await reader.read()).done;
      expect(done).toBe(true);
    } finally {
      await own.close();
    }
  });
});
