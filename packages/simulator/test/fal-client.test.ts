import { ApiError, ValidationError } from '@fal-ai/client';
import type { QueueStatus } from '@fal-ai/client';
import { afterEach, describe, expect, it } from 'vitest';
import { FLUX, falClient } from './fal-helpers.ts';
import { startSimulator } from './helpers.ts';
import type { RunningSimulator } from './helpers.ts';

// The official @fal-ai/client against the simulator: its requestMiddleware swaps https://queue.fal.run for <origin>/fal/queue.
let s: RunningSimulator;
afterEach(() => s.close());

type FluxOutput = { images: Array<{ url: string }>; prompt: string };

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('@fal-ai/client against the fal simulator', () => {
  it('subscribe (polling) submits, polls until COMPLETED and fetches the result', async () => {
    s = await startSimulator();
    const fal = falClient(s.origin);
    const updates: QueueStatus[] = [];
    let enqueued = '';
    const result = await fal.subscribe(FLUX, {
      input: { prompt: 'a cat --sim-steps 3' },
      logs: true,
      pollInterval: 10,
      onEnqueue: (id) => void (enqueued = id),
      onQueueUpdate: (update) => void updates.push(update),
    });
    expect(result.requestId).toBe(enqueued);
    expect((result.data as FluxOutput).prompt).toBe('a cat --sim-steps 3');
    expect((result.data as FluxOutput).images[0]?.url).toContain(`/_sim/images/${enqueued}/1.png`);
    const last = updates.at(-1)!;
    expect(last.status).toBe('COMPLETED');
    expect('logs' in last && last.logs?.map((l) => l.message)).toEqual(['step 1/3', 'step 2/3', 'step 3/3']);
    const stats = s.sim.falStats();
    expect(stats.submits).toBe(1);
    expect(stats.statusPolls[enqueued]).toBe(updates.length);
    expect(stats.resultFetches[enqueued]).toBe(1);
    expect(stats.streamsServed).toBe(0);
  });

  it('subscribe (streaming) reads the status stream, gathers every log line and ends with COMPLETED', async () => {
    s = await startSimulator();
    const fal = falClient(s.origin);
    const updates: QueueStatus[] = [];
    const result = await fal.subscribe(FLUX, {
      input: { prompt: 'a dog --sim-steps 4 --sim-queue 2' },
      logs: true,
      mode: 'streaming',
      onQueueUpdate: (update) => void updates.push(update),
    });
    expect((result.data as FluxOutput).images).toHaveLength(1);
    const order = ['IN_QUEUE', 'IN_PROGRESS', 'COMPLETED'];
    const ranks = updates.map((u) => order.indexOf(u.status));
    expect(ranks).toEqual([...ranks].sort());
    const last = updates.at(-1)!;
    expect(last.status).toBe('COMPLETED');
    expect('logs' in last && last.logs?.map((l) => l.message)).toEqual(['step 1/4', 'step 2/4', 'step 3/4', 'step 4/4']);
    expect(s.sim.falStats().streamsServed).toBe(1);
    expect(s.sim.falStats().statusPolls).toEqual({});
  });

  it('queue.submit, status, streamStatus, result and cancel work one by one', async () => {
    s = await startSimulator({ maxJobs: 1 });
    const fal = falClient(s.origin);
    const hold = await fal.queue.submit(FLUX, { input: { prompt: 'hold --sim-queue 99 --sim-interval 60000' } });
    const queued = await fal.queue.submit(FLUX, { input: { prompt: 'an owl' } });
    expect(queued).toMatchObject({ status: 'IN_QUEUE', queue_position: 1 });
    expect(queued.status_url).toBe(`${s.origin}/fal/queue/fal-ai/flux/requests/${queued.request_id}/status`);
    expect(await fal.queue.status(FLUX, { requestId: queued.request_id, logs: true })).toMatchObject({
      status: 'IN_QUEUE',
      queue_position: 1,
    });
    expect(await rejection(fal.queue.result(FLUX, { requestId: queued.request_id }))).toMatchObject({
      status: 400,
      body: { detail: 'Request is still in progress' },
      requestId: queued.request_id,
    });

    const stream = await fal.queue.streamStatus(FLUX, { requestId: queued.request_id, logs: true });
    const seen: string[] = [];
    stream.on('data', (data: QueueStatus) => void seen.push(data.status));
    await fal.queue.cancel(FLUX, { requestId: hold.request_id });
    const done = (await stream.done()) as QueueStatus;
    expect(done.status).toBe('COMPLETED');
    expect(seen.at(-1)).toBe('COMPLETED');
    expect(stream.requestId).toBe(queued.request_id);

    const result = await fal.queue.result(FLUX, { requestId: queued.request_id });
    expect(result.requestId).toBe(queued.request_id);
    expect((result.data as FluxOutput).prompt).toBe('an owl');
    const holdError = await rejection(fal.queue.result(FLUX, { requestId: hold.request_id }));
    expect(holdError).toBeInstanceOf(ApiError);
    expect(holdError).toMatchObject({ status: 400, body: { detail: 'Request was cancelled' } });
  });

  it('cancel throws ApiError for a completed (400) or unknown (404) request', async () => {
    s = await startSimulator();
    const fal = falClient(s.origin);
    const { requestId } = await fal.subscribe(FLUX, { input: { prompt: 'quick' }, pollInterval: 10 });
    expect(await rejection(fal.queue.cancel(FLUX, { requestId }))).toMatchObject({ status: 400, body: { status: 'ALREADY_COMPLETED' } });
    const unknown = await rejection(fal.queue.cancel(FLUX, { requestId: '00000000-0000-4000-8000-000000000000' }));
    expect(unknown).toBeInstanceOf(ApiError);
    expect(unknown).toMatchObject({ status: 404, body: { status: 'NOT_FOUND' } });
  });

  it('a model error reaches subscribe as a ValidationError from the result call, with fieldErrors and the request id', async () => {
    s = await startSimulator();
    const fal = falClient(s.origin);
    let enqueued = '';
    const error = await rejection(
      fal.subscribe(FLUX, {
        input: { prompt: 'flagged --sim-outcome error' },
        mode: 'streaming',
        onEnqueue: (id) => void (enqueued = id),
      }),
    );
    expect(error).toBeInstanceOf(ValidationError);
    const validation = error as ValidationError;
    expect(validation.status).toBe(422);
    expect(validation.requestId).toBe(enqueued);
    expect(validation.fieldErrors[0]).toMatchObject({ loc: ['body', 'prompt'], type: 'content_policy_violation' });
    expect(validation.getFieldErrors('prompt')).toHaveLength(1);

    const noPrompt = { num_images: 1 } as unknown as { prompt: string }; // what a caller without types may send
    const missing = (await rejection(fal.subscribe(FLUX, { input: noPrompt, pollInterval: 10 }))) as ValidationError;
    expect(missing).toBeInstanceOf(ValidationError);
    expect(missing.getFieldErrors('prompt')[0]).toMatchObject({ type: 'missing', msg: 'Field required' });
  });

  it('a rejected submit or a bad key surfaces as ApiError with the body', async () => {
    s = await startSimulator({ token: 'right-key' });
    const wrong = await rejection(falClient(s.origin, 'wrong-key').queue.submit(FLUX, { input: { prompt: 'a cat' } }));
    expect(wrong).toBeInstanceOf(ApiError);
    expect(wrong).toMatchObject({ status: 401, body: { detail: 'Unauthorized' } });
    const fal = falClient(s.origin, 'right-key');
    const failed = await rejection(fal.queue.submit(FLUX, { input: { prompt: 'a cat --sim-status 500' } }));
    expect(failed).toMatchObject({ status: 500, body: { detail: 'Internal Server Error' } });
    expect(s.sim.falStats().submits).toBe(1); // the 401 never counts; a 500 is not retried by the client
  });
});
