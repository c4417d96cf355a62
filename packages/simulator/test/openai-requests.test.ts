import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator } from './helpers.ts';
import type { RunningSimulator } from './helpers.ts';
import {
  API_KEY,
  collect,
  openaiEvents,
  openaiFetch,
  postResponse,
  responseIdOf,
  sdkClient,
  waitFor,
  waitForStatus,
} from './openai-helpers.ts';

let s: RunningSimulator;
let client: OpenAI;
beforeAll(async () => {
  s = await startSimulator({ maxJobs: 100 });
  client = sdkClient(s.origin);
});
afterAll(() => s.close());

/** The error a promise rejects with (fails the test if it resolves). */
async function failure(promise: Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
  const outcome = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(outcome instanceof OpenAI.APIError)) throw new Error(`expected an APIError, got ${String(outcome)}`);
  return outcome;
}

const LONG = '--sim-interval 60000';

describe('errors in the vendor shape', () => {
  it('answers 401 without a key (code null), and 401 invalid_api_key for another key when a token is set', async () => {
    const bare = await postResponse(s.origin, { model: 'm', input: 'x' }, null);
    expect(bare.status).toBe(401);
    expect(await bare.json()).toEqual({
      error: { message: expect.stringMatching(/^You didn't provide an API key/), type: 'invalid_request_error', param: null, code: null },
    });

    const guarded = await startSimulator({ token: 'sk-the-only-accepted-key' });
    try {
      const wrongKey = 'sk-wrong-key-abcdefghijklmnop';
      const error = await failure(sdkClient(guarded.origin, wrongKey).responses.create({ model: 'm', input: 'x', background: true }));
      expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
      expect(error.code).toBe('invalid_api_key');
      expect(error.message).toMatch(/Incorrect API key provided: sk-\*+mnop\./);
      expect(error.message).not.toContain(wrongKey);
      const ok = await sdkClient(guarded.origin, 'sk-the-only-accepted-key').responses.create({ model: 'm', input: 'x', background: true });
      expect(ok.status).toBe('queued');
    } finally {
      await guarded.close();
    }
  });

  it.each([
    [{ input: 'x' }, 'model', 'missing_required_parameter', "Missing required parameter: 'model'."],
    [{ model: 'm' }, 'input', 'missing_required_parameter', "Missing required parameter: 'input'."],
    [
      { model: 7, input: 'x' },
      'model',
      'invalid_type',
      "Invalid type for 'model': expected a non-empty string, but got an integer instead.",
    ],
    [
      { model: 'm', input: { text: 'x' } },
      'input',
      'invalid_type',
      "Invalid type for 'input': expected a string or an array, but got an object instead.",
    ],
    [
      { model: 'm', input: 'x', stream: 'yes' },
      'stream',
      'invalid_type',
      "Invalid type for 'stream': expected a boolean, but got a string instead.",
    ],
    [{ model: 'm', input: 'x', background: true, store: false }, 'store', null, expect.stringMatching(/store=true/)],
    [{ model: 'm', input: 'x', metadata: { k: 1 } }, 'metadata.k', 'invalid_type', expect.stringMatching(/expected a string/)],
    [{ model: 'm', input: 'x', max_output_tokens: 0 }, 'max_output_tokens', 'invalid_value', expect.stringMatching(/at least 1/)],
    [{ model: 'm', input: 'x --sim-nope' }, 'input', 'invalid_value', 'Unknown directive --sim-nope'],
    [
      { model: 'm', input: 'x --sim-outcome moderated' },
      'input',
      'invalid_value',
      '--sim-outcome expects one of completed|incomplete|failed|error',
    ],
  ])('answers 400 invalid_request_error for %j', async (body, param, code, message) => {
    const response = await postResponse(s.origin, body);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: { message, type: 'invalid_request_error', param, code } });
    const sdkError = await failure(client.responses.create(body as never));
    expect(sdkError).toBeInstanceOf(OpenAI.BadRequestError);
    expect(sdkError.param).toBe(param);
  });

  it('answers 400 for a body that is not JSON', async () => {
    const response = await openaiFetch(s.origin, '/responses', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{nope',
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: { message: expect.stringMatching(/could not parse the JSON body/), type: 'invalid_request_error', param: null, code: null },
    });
  });

  it('answers 404 for an unknown id on retrieve, resume, cancel and delete, and for an unknown path', async () => {
    const message = "404 Response with id 'resp_nope' not found.";
    for (const call of [
      client.responses.retrieve('resp_nope'),
      client.responses.retrieve('resp_nope', { stream: true }),
      client.responses.cancel('resp_nope'),
      client.responses.delete('resp_nope'),
    ]) {
      const error = await failure(call);
      expect(error).toBeInstanceOf(OpenAI.NotFoundError);
      expect(error.message).toBe(message);
      expect(error.type).toBe('invalid_request_error');
      expect(error.requestID).toMatch(/^req_/);
    }
    const unknown = await openaiFetch(s.origin, '/nope');
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({
      error: { message: 'Invalid URL (GET /openai/v1/nope)', type: 'invalid_request_error', param: null, code: null },
    });
  });

  it.each([
    [400, OpenAI.BadRequestError, 'invalid_request_error'],
    [401, OpenAI.AuthenticationError, 'invalid_request_error'],
    [403, OpenAI.PermissionDeniedError, 'request_forbidden'],
    [404, OpenAI.NotFoundError, 'invalid_request_error'],
    [429, OpenAI.RateLimitError, 'requests'],
    [500, OpenAI.InternalServerError, 'server_error'],
    [503, OpenAI.InternalServerError, 'server_error'],
    [418, OpenAI.APIError, 'invalid_request_error'],
  ])('rejects a create with --sim-status %i as the vendor would', async (status, errorClass, type) => {
    const error = await failure(client.responses.create({ model: 'm', input: `x --sim-status ${status}`, background: true, stream: true }));
    expect(error).toBeInstanceOf(errorClass);
    expect(error.status).toBe(status);
    expect(error.type).toBe(type);
    expect(error.headers?.get('retry-after')).toBe(status === 429 ? '1' : null);
    expect(error.message).not.toContain(API_KEY);
  });

  it('puts the caller key into the text, the failure and the rejection under --sim-echo-token', async () => {
    const text = await collect(
      await client.responses.create({ model: 'm', input: 'x --sim-echo-token --sim-steps 2', background: true, stream: true }),
    );
    expect(JSON.stringify(text)).toContain(`Bearer ${API_KEY}`);
    const raw = await (
      await postResponse(s.origin, { model: 'm', input: 'x --sim-echo-token --sim-outcome error', background: true, stream: true })
    ).text();
    const [error, failed] = openaiEvents(raw).slice(-2);
    expect(JSON.stringify(error)).toContain(API_KEY);
    expect(JSON.stringify(failed)).toContain(API_KEY);
    const rejected = await failure(client.responses.create({ model: 'm', input: 'x --sim-echo-token --sim-status 500', background: true }));
    expect(rejected.message).toContain(API_KEY);
  });
});

describe('capacity', () => {
  it('answers 429 rate_limit_exceeded with Retry-After once maxJobs responses run, and accepts again when one ends', async () => {
    const own = await startSimulator({ maxJobs: 2 });
    try {
      const ownClient = sdkClient(own.origin);
      const first = await ownClient.responses.create({ model: 'm', input: `x ${LONG}`, background: true });
      await ownClient.responses.create({ model: 'm', input: `x ${LONG}`, background: true });
      const error = await failure(ownClient.responses.create({ model: 'm', input: 'x', background: true, stream: true }));
      expect(error).toBeInstanceOf(OpenAI.RateLimitError);
      expect(error.code).toBe('rate_limit_exceeded');
      expect(error.headers?.get('retry-after')).toBe('1');
      await ownClient.responses.cancel(first.id);
      expect((await ownClient.responses.create({ model: 'm', input: 'x', background: true })).status).toBe('queued');
    } finally {
      await own.close();
    }
  });
});

describe('polling, cancel and delete', () => {
  it('polls a stream:false background response from queued to completed', async () => {
    const queued = await client.responses.create({ model: 'm', input: 'poll me --sim-steps 3 --sim-interval 10', background: true });
    expect(queued.status).toBe('queued');
    const done = await waitForStatus(client, queued.id, 'completed');
    expect(done.output_text.split(' ')).toHaveLength(3);
    expect(done.usage?.output_tokens).toBe(3);
    expect(s.sim.openaiStats().polls[queued.id]).toBeGreaterThanOrEqual(1);
  });

  it('cancels a running response: 200 cancelled, idempotent, and its live streams end with response.failed status cancelled', async () => {
    const stream = await client.responses.create({ model: 'm', input: `x --sim-steps 3 ${LONG}`, background: true, stream: true });
    const iterator = stream[Symbol.asyncIterator]();
    const created = (await iterator.next()).value as OpenAI.Responses.ResponseCreatedEvent;
    const id = created.response.id;
    const resumed = client.responses.stream({ response_id: id }).finalResponse();

    const cancelled = await client.responses.cancel(id);
    expect(cancelled).toMatchObject({ id, status: 'cancelled', output: [] });
    const rest: OpenAI.Responses.ResponseStreamEvent[] = [];
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) rest.push(next.value);
    expect(rest.map((e) => e.type)).toEqual(['response.queued', 'response.failed']);
    expect((rest.at(-1) as OpenAI.Responses.ResponseFailedEvent).response.status).toBe('cancelled');
    expect((await resumed).status).toBe('cancelled');

    expect(await client.responses.cancel(id)).toMatchObject({ id, status: 'cancelled' });
    expect(await client.responses.retrieve(id)).toMatchObject({ status: 'cancelled' });
  });

  it('returns a finished response unchanged on cancel, and refuses to cancel a synchronous one', async () => {
    const done = await client.responses.create({ model: 'm', input: 'x --sim-steps 1 --sim-interval 0', background: true });
    await waitForStatus(client, done.id, 'completed');
    expect(await client.responses.cancel(done.id)).toMatchObject({ status: 'completed' });

    const sync = await client.responses.create({ model: 'm', input: 'x --sim-steps 1 --sim-interval 0' });
    const error = await failure(client.responses.cancel(sync.id));
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error.message).toBe('400 Cannot cancel a synchronous response.');
  });

  it('deletes a response: 200 deleted, its live streams end as cancelled, then 404', async () => {
    const [created] = await collect(
      await client.responses.create({ model: 'm', input: `x ${LONG} --sim-drop-after 1`, background: true, stream: true }),
    );
    const id = responseIdOf(created);
    const live = await openaiFetch(s.origin, `/responses/${id}?stream=true&starting_after=1`);
    const raw = await openaiFetch(s.origin, `/responses/${id}`, { method: 'DELETE' });
    expect(raw.status).toBe(200);
    expect(await raw.json()).toEqual({ id, object: 'response', deleted: true });
    const ended = openaiEvents(await live.text());
    expect(ended.map((e) => [e.type, (e.response as { status: string }).status])).toEqual([['response.failed', 'cancelled']]);
    expect(await failure(client.responses.retrieve(id))).toBeInstanceOf(OpenAI.NotFoundError);
    expect(await failure(client.responses.delete(id))).toBeInstanceOf(OpenAI.NotFoundError);
  });
});

describe('resume window', () => {
  it('refuses GET ?stream=true once --sim-resume-window has passed, with the vendor 400; polling still works', async () => {
    const [created] = await collect(
      await client.responses.create({
        model: 'm',
        input: 'x --sim-steps 1 --sim-resume-window 1 --sim-drop-after 1',
        background: true,
        stream: true,
      }),
    );
    const id = responseIdOf(created);
    const error = await waitFor(async () => {
      const outcome = await client.responses.retrieve(id, { stream: true }).then(
        async (stream) => void (await collect(stream)),
        (e: unknown) => e,
      );
      return outcome instanceof OpenAI.APIError ? outcome : undefined;
    }, 'the resume window to pass');
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error.message).toBe('400 This response can no longer be streamed because it is more than 5 minutes old');
    expect((await client.responses.retrieve(id)).id).toBe(id);
  });

  it('refuses a negative or fractional starting_after', async () => {
    const [created] = await collect(
      await client.responses.create({ model: 'm', input: 'x --sim-drop-after 1', background: true, stream: true }),
    );
    const id = responseIdOf(created);
    for (const bad of ['-1', '1.5', 'x']) {
      const response = await openaiFetch(s.origin, `/responses/${id}?stream=true&starting_after=${bad}`);
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: { param: string } }).error.param).toBe('starting_after');
    }
  });
});

describe('stats', () => {
  it('counts streams, responses, polls, resumes and requests at /_sim/openai/stats; /_sim/reset clears them', async () => {
    const own = await startSimulator();
    try {
      const ownClient = sdkClient(own.origin);
      const [created] = await collect(
        await ownClient.responses.create({ model: 'm', input: 'x --sim-steps 1 --sim-drop-after 1', background: true, stream: true }),
      );
      const id = responseIdOf(created);
      await collect(await ownClient.responses.retrieve(id, { stream: true, starting_after: 0 }));
      await ownClient.responses.retrieve(id);
      await ownClient.responses.create({ model: 'm', input: 'x', background: true });

      const stats = (await (await fetch(`${own.origin}/_sim/openai/stats`)).json()) as Record<string, unknown>;
      expect(stats).toEqual({
        streamsServed: 2,
        responses: 2,
        polls: { [id]: 1 },
        requests: [
          { method: 'POST', path: '/openai/v1/responses', at: expect.any(String) },
          { method: 'GET', path: `/openai/v1/responses/${id}`, at: expect.any(String) },
          { method: 'GET', path: `/openai/v1/responses/${id}`, at: expect.any(String) },
          { method: 'POST', path: '/openai/v1/responses', at: expect.any(String) },
        ],
        resumes: 1,
      });
      expect(own.sim.openaiStats()).toEqual(stats);
      const midjourney = (await (await fetch(`${own.origin}/_sim/stats`)).json()) as Record<string, unknown>;
      expect(midjourney).toEqual({ streamsServed: 0, jobs: 0, running: 0, requests: [], polls: {} });

      expect((await fetch(`${own.origin}/_sim/reset`, { method: 'POST' })).status).toBe(200);
      const zero = { streamsServed: 0, responses: 0, polls: {}, requests: [], resumes: 0 };
      expect(own.sim.openaiStats()).toEqual(zero);
      await ownClient.responses.create({ model: 'm', input: 'x', background: true });
      expect((await fetch(`${own.base}/_sim/reset`, { method: 'POST' })).status).toBe(200);
      expect(own.sim.openaiStats()).toEqual(zero);
    } finally {
      await own.close();
    }
  });
});
