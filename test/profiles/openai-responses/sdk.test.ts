import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../../support/gateway.ts';
import { API_KEY as GATEWAY_KEY, SECURED } from '../../support/security.ts';
import { type Event, sdk, upstreamCreates } from '../../scenarios/sdk-openai.ts';
import { collect, responseIdOf, waitFor, waitForStatus } from '../../../packages/simulator/test/openai-helpers.ts';

// The official SDK against the Node gateway, in settings and failures the shared scenarios
// (test/scenarios/sdk-openai.ts, run on Node and in workerd) do not set up.

describe('openai-responses at upstream capacity', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ SIM_MAX_JOBS: '1', POLL_INTERVAL_MS: '30' });
  });
  afterAll(async () => {
    await gw.close();
  });

  it('gets the 429 to the SDK with x-should-retry: false, after one upstream try', async () => {
    const client = sdk(gw);
    const running = await client.responses.create({ model: 'gpt-4o', input: 'hold --sim-steps 400 --sim-interval 50', background: true });
    const before = await upstreamCreates(gw.scenarioTarget());
    const error = await client.responses.create({ model: 'gpt-4o', input: 'one more', background: true, stream: true }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect((error as InstanceType<typeof OpenAI.RateLimitError>).headers?.get('x-should-retry')).toBe('false');
    expect((await upstreamCreates(gw.scenarioTarget())) - before).toBe(1);
    await client.responses.cancel(running.id);
  });
});

describe('openai-responses past the gateway deadline', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ JOB_DEADLINE_MS: '1500', POLL_INTERVAL_MS: '30' });
  });
  afterAll(async () => {
    await gw.close();
  });

  it("ends the SDK's stream with a response.failed naming the response, which retrieve and a blocking create answer too", async () => {
    const client = sdk(gw);
    const stream = await client.responses.create({ model: 'gpt-4o', input: 'slow --sim-steps 400 --sim-interval 50', stream: true });
    const events = await collect(stream);
    const id = responseIdOf(events[0]);
    const last = events.at(-1) as OpenAI.Responses.ResponseFailedEvent;
    expect(last.type).toBe('response.failed');
    expect(last.sequence_number).toBe((events.at(-2) as Event).sequence_number + 1);
    expect(last.response).toMatchObject({ id, object: 'response', model: 'gpt-4o', status: 'failed', error: { code: 'server_error' } });
    expect(last.response.error?.message).toMatch(/deadline/);
    // The replay helper reads it whole, and the stored object is the failed one.
    const replayed = await collect(client.responses.stream({ response_id: id }));
    expect(replayed.at(-1)).toEqual(last);
    expect((await client.responses.retrieve(id)).status).toBe('failed');
    // A blocking create that outlives the deadline is answered with the failed response.
    const blocking = await client.responses.create({ model: 'gpt-4o', input: 'slow too --sim-steps 400 --sim-interval 50' });
    expect(blocking).toMatchObject({ object: 'response', status: 'failed', error: { code: 'server_error' } });
    expect(blocking.id).toMatch(/^resp_/);
    await Promise.all([client.responses.cancel(id), client.responses.cancel(blocking.id)]);
  });
});

describe('openai-responses blocking creates and subscriber slots', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ MAX_SUBSCRIBERS_PER_IP: '1', POLL_INTERVAL_MS: '30' });
  });
  afterAll(async () => {
    await gw.close();
  });

  it('holds a subscriber slot while a blocking create waits, and frees it once answered', async () => {
    const client = sdk(gw);
    const held = await fetch(`${gw.url}/openai/v1/responses`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o', input: 'held --sim-steps 400 --sim-interval 50' }),
    });
    const id = held.headers.get('x-job-id') as string;
    const refused = await client.responses.create({ model: 'gpt-4o', input: 'second' }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(OpenAI.RateLimitError);
    expect((refused as InstanceType<typeof OpenAI.RateLimitError>).headers?.get('x-should-retry')).toBe('false');
    // A background create holds no connection, so it needs no slot.
    const background = await client.responses.create({ model: 'gpt-4o', input: 'bg --sim-steps 1 --sim-interval 5', background: true });
    await client.responses.cancel(id);
    expect(((await held.json()) as { status: string }).status).toBe('cancelled');
    expect((await client.responses.create({ model: 'gpt-4o', input: 'third --sim-steps 1 --sim-interval 5' })).status).toBe('completed');
    await waitForStatus(client, background.id, 'completed');
  });
});

describe('openai-responses in secured mode', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ ...SECURED, POLL_INTERVAL_MS: '30' });
  });
  afterAll(async () => {
    await gw.close();
  });

  it('takes the gateway API key as the SDK key, and refuses others in OpenAI shape', async () => {
    const client = sdk(gw, GATEWAY_KEY);
    const events = await collect(
      await client.responses.create({ model: 'gpt-4o', input: 'secured --sim-steps 2 --sim-interval 5', background: true, stream: true }),
    );
    expect(events.at(-1)?.type).toBe('response.completed');
    const id = responseIdOf(events[0]);
    expect((await client.responses.retrieve(id)).status).toBe('completed');
    for (const key of ['not-the-gateway-key']) {
      const error = await sdk(gw, key)
        .responses.create({ model: 'gpt-4o', input: 'x', background: true })
        .then(
          () => undefined,
          (err: unknown) => err,
        );
      expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
      expect((error as InstanceType<typeof OpenAI.AuthenticationError>).error).toMatchObject({
        type: 'invalid_request_error',
        code: 'unauthorized',
      });
      const read = await sdk(gw, key)
        .responses.retrieve(id)
        .then(
          () => undefined,
          (err: unknown) => err,
        );
      expect(read).toBeInstanceOf(OpenAI.AuthenticationError);
    }
  });

  it("reads with the create's subscribe token, for that response only; cancel and delete need the key", async () => {
    const headers = { Authorization: `Bearer ${GATEWAY_KEY}`, 'Content-Type': 'application/json' };
    const create = (input: string) =>
      fetch(`${gw.url}/openai/v1/responses`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ model: 'gpt-4o', input, background: true }),
      });
    const first = await create('token --sim-steps 2 --sim-interval 5');
    const token = first.headers.get('x-subscribe-token') as string;
    const { id } = (await first.json()) as { id: string };
    const other = (await (await create('other --sim-steps 2 --sim-interval 5')).json()) as { id: string };
    const byToken = sdk(gw, token);
    await waitFor(async () => ((await byToken.responses.retrieve(id)).status === 'completed' ? true : undefined), 'completed');
    const events = await collect(await byToken.responses.retrieve(id, { stream: true }));
    expect(events.at(-1)?.type).toBe('response.completed');
    const viaQuery = await fetch(`${gw.url}/openai/v1/responses/${id}?stream=true&token=${encodeURIComponent(token)}`);
    expect(viaQuery.status).toBe(200);
    await viaQuery.text();
    await expect(byToken.responses.retrieve(other.id)).rejects.toBeInstanceOf(OpenAI.PermissionDeniedError);
    await expect(byToken.responses.cancel(id)).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    await expect(byToken.responses.delete(id)).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
  });
});

describe('openai-responses when the gateway ends a stream early', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ POLL_INTERVAL_MS: '30' });
  });
  afterAll(async () => {
    await gw.close();
  });

  it('a drain ends the SDK stream with an error event (the SDK throws), never a clean close taken for the answer', async () => {
    const client = sdk(gw);
    const stream = await client.responses.create({
      model: 'gpt-4o',
      input: 'drain --sim-steps 300 --sim-interval 30',
      background: true,
      stream: true,
    });
    const seen: Event[] = [];
    const outcome = (async () => {
      for await (const event of stream) seen.push(event);
    })().then(
      () => 'clean close',
      (err: unknown) => err,
    );
    await waitFor(async () => (seen.length >= 3 ? true : undefined), 'a few events');
    await gw.relays.get('openai-responses')?.drain(0);
    const error = await outcome;
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect(String((error as Error).message)).toContain(`starting_after=`);
    const id = responseIdOf(seen[0]);
    await client.responses.cancel(id);
  });
});
