import { createFalClient } from '@fal-ai/client';
import type { QueueStatus } from '@fal-ai/client';
import { EventSource } from 'eventsource';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAL_EARLY_END } from '../../src/profiles/fal-queue/profile.ts';
import { EARLY_END_DETAIL } from '../../src/profiles/replicate/profile.ts';
import { gatewayReplicate } from '../scenarios/sdk-replicate.ts';
import { SCENARIO_PROFILES } from '../scenarios/profiles.ts';
import { answerTypes, expectSequence, responseIdOf } from '../../packages/simulator/test/openai-helpers.ts';
import { ids, readSse } from '../support/sse.ts';
import { type TestWorker, startTestWorker } from '../support/worker.ts';

// MAX_STREAM_MS on the Worker: every stream is cut, the way its client can take it.
// Generous timeouts and jobs that outlast two cuts: on a loaded machine each step takes longer.
let worker: TestWorker;
beforeAll(async () => {
  worker = await startTestWorker({ MAX_STREAM_MS: '1500', RETRY_MS: '50', POLL_INTERVAL_MS: '30', HEARTBEAT_MS: '200' });
});
afterAll(async () => {
  await worker?.close();
});

type Event = OpenAI.Responses.ResponseStreamEvent;

/** Reads an SDK stream until it ends: how it ended, and what it brought. */
async function drain(stream: AsyncIterable<Event>): Promise<{ events: Event[]; error?: unknown }> {
  const events: Event[] = [];
  try {
    for await (const event of stream) events.push(event);
  } catch (error) {
    return { events, error };
  }
  return { events };
}

const uniformUrl = (profile: string, jobId: string) => `${worker.url}/v1/jobs/${profile}/${encodeURIComponent(jobId)}/stream`;

describe('the cut on the OpenAI drop-in path', () => {
  it('ends the SDK stream with an error, never a clean close; resuming with starting_after loses and repeats nothing', async () => {
    const client = new OpenAI({ apiKey: 'any', baseURL: `${worker.url}/openai/v1`, maxRetries: 0 });
    const steps = 50;
    let part = await drain(
      await client.responses.create({
        model: 'gpt-4o',
        input: `long --sim-steps ${steps} --sim-interval 80`,
        background: true,
        stream: true,
      }),
    );
    const events = [...part.events];
    const id = responseIdOf(events[0]);
    let cuts = 0;
    while (part.error !== undefined) {
      cuts++;
      expect(part.error).toBeInstanceOf(OpenAI.APIError);
      const last = events.at(-1)?.sequence_number ?? -1;
      expect(String((part.error as Error).message)).toContain(`starting_after=${last}`);
      expect(cuts).toBeLessThan(30);
      part = await drain(await client.responses.retrieve(id, { stream: true, starting_after: last }));
      events.push(...part.events);
    }
    // A clean end only with the terminal event.
    expect(events.at(-1)?.type).toBe('response.completed');
    expect(cuts).toBeGreaterThanOrEqual(1);
    expect(events.map((event) => event.type)).toEqual(answerTypes(steps));
    expectSequence(events);
  }, 120_000);
});

describe.each(SCENARIO_PROFILES)('the cut on the uniform path, $name', (profile) => {
  it('ends with a comment and retry:, and an EventSource reconnects and gets every event once', async () => {
    const jobId = await profile.startJob(worker.url, { steps: 12, intervalMs: 250, label: 'cut' });
    const seen: number[] = [];
    let opens = 0;
    await new Promise<void>((resolve, reject) => {
      const source = new EventSource(uniformUrl(profile.name, jobId));
      const timer = setTimeout(() => {
        source.close();
        reject(new Error(`EventSource timed out after ${seen.length} events`));
      }, 90_000);
      source.onopen = () => void opens++;
      source.onmessage = (message) => {
        seen.push(Number(message.lastEventId));
        if (profile.isTerminal(message.data)) {
          clearTimeout(timer);
          source.close();
          resolve();
        }
      };
    });
    expect(opens).toBeGreaterThanOrEqual(2);
    const reference = await readSse(uniformUrl(profile.name, jobId));
    expect(seen).toEqual(ids(reference.events));
    // A stream still open at the cut ends with the tail, then closes.
    const late = await profile.startJob(worker.url, { steps: 40, intervalMs: 250, label: 'cut-tail' });
    const cut = await readSse(uniformUrl(profile.name, late));
    expect(cut.comments.some((comment) => comment.includes('stream time limit'))).toBe(true);
    expect(cut.raw.endsWith('retry: 50\n\n')).toBe(true);
  }, 120_000);
});

describe("the cut on fal's status stream (its client has no reconnect)", () => {
  it('ends with data the client rejects on: subscribe and streamStatus fail loudly, never COMPLETED early; the job runs on', async () => {
    const fal = createFalClient({ credentials: 'any', proxyUrl: { url: `${worker.url}/fal/proxy`, when: 'always' } });
    let requestId = '';
    const updates: QueueStatus[] = [];
    const error = await fal
      .subscribe('fal-ai/flux/dev', {
        input: { prompt: 'slow --sim-steps 48 --sim-interval 250' },
        mode: 'streaming',
        onEnqueue: (id) => void (requestId = id),
        onQueueUpdate: (update) => void updates.push(update),
      })
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    // The cut's last event is not JSON (FAL_EARLY_END), which the client rejects on, quoting it; it
    // never asks for the result. (A plain close would reach the client clean, even when aborted:
    // workerd ends an errored body with a clean chunked end, cloudflare/workerd#6818.)
    const quoted = `"${FAL_EARLY_END.slice(0, 10)}"`;
    expect(error).toBeInstanceOf(SyntaxError);
    expect(String((error as Error).message)).toContain(quoted);
    expect(updates.some((update) => update.status === 'IN_PROGRESS')).toBe(true);
    expect(updates.some((update) => update.status === 'COMPLETED')).toBe(false);
    const stream = await fal.queue.streamStatus('fal-ai/flux/dev', { requestId, logs: true });
    const seen: string[] = [];
    stream.on('data', (data: QueueStatus) => void seen.push(data.status));
    const cut = await stream.done().then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(cut).toBeInstanceOf(SyntaxError);
    expect(String((cut as Error).message)).toContain(quoted);
    expect(seen).not.toContain('COMPLETED');
    // The same request, still followed by the gateway: polling reaches COMPLETED and its result.
    const done = await fal.queue.subscribeToStatus('fal-ai/flux/dev', { requestId, pollInterval: 50 });
    expect(done.status).toBe('COMPLETED');
    const result = await fal.queue.result('fal-ai/flux/dev', { requestId });
    expect((result.data as { prompt: string }).prompt).toContain('slow');
  }, 120_000);
});

describe("the cut on Replicate's prediction stream (its client has no reconnect)", () => {
  it('ends with the error event the client throws on, never a clean close before done; the prediction runs on', async () => {
    const replicate = gatewayReplicate(worker.url);
    const tokens: string[] = [];
    const reading = (async () => {
      for await (const event of replicate.stream('meta/llama-sim', { input: { prompt: 'long --sim-steps 200 --sim-interval 30' } })) {
        tokens.push(String(event.data));
      }
    })();
    await expect(reading).rejects.toThrow(JSON.stringify({ detail: EARLY_END_DETAIL }));
    expect(tokens.length).toBeGreaterThan(0);
  });
});
