import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerTypes, collect, expectSequence, responseIdOf } from '../simulator/openai-helpers.ts';
import { type TestWorker, startTestWorker } from '../support/worker.ts';

// The official SDK against the Worker (workerd, Durable Objects) on its OpenAI drop-in paths.
let worker: TestWorker;
beforeAll(async () => {
  worker = await startTestWorker({ POLL_INTERVAL_MS: '30' });
});
afterAll(async () => {
  await worker?.close();
});

describe('openai-responses on the Worker, with the official SDK', () => {
  it('streams a background response, replays it to the stream() helper, resumes with starting_after, no 204', async () => {
    const client = new OpenAI({ apiKey: 'any', baseURL: `${worker.url}/openai/v1`, maxRetries: 2 });
    const events = await collect(
      await client.responses.create({
        model: 'gpt-4o',
        input: 'worker --sim-steps 3 --sim-interval 10 --sim-drop-after 4',
        background: true,
        stream: true,
      }),
    );
    expect(events.map((event) => event.type)).toEqual(answerTypes(3));
    expectSequence(events);
    const id = responseIdOf(events[0]);
    const final = await client.responses.stream({ response_id: id }).finalResponse();
    expect(final.status).toBe('completed');
    const rest = await collect(await client.responses.retrieve(id, { stream: true, starting_after: 5 }));
    expect(rest.map((event) => event.sequence_number)).toEqual(events.slice(6).map((event) => event.sequence_number));
    expect(await collect(await client.responses.retrieve(id, { stream: true, starting_after: 99 }))).toEqual([]);
    expect((await client.responses.retrieve(id)).status).toBe('completed');
  });

  it('answers stream:false without background once the response is over; background:true at once', async () => {
    const client = new OpenAI({ apiKey: 'any', baseURL: `${worker.url}/openai/v1`, maxRetries: 0 });
    const done = await client.responses.create({ model: 'gpt-4o', input: 'blocking --sim-steps 3 --sim-interval 10' });
    expect(done.status).toBe('completed');
    expect(done.output_text.length).toBeGreaterThan(0);
    const queued = await client.responses.create({ model: 'gpt-4o', input: 'later --sim-steps 300 --sim-interval 50', background: true });
    expect(['queued', 'in_progress']).toContain(queued.status);
    await client.responses.cancel(queued.id);
  });
});
