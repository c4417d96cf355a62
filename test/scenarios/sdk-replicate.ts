import { createRequire } from 'node:module';
import Replicate from 'replicate';
import type { Prediction } from 'replicate';
import { describe, expect, it } from 'vitest';
import type { ReplicateStats } from '@sse-relay/simulator';
import { until } from '../support/until.ts';
import type { ScenarioTarget } from './target.ts';

/** The official client's own stream reader (what `replicate.stream` reads `urls.stream` with), for viewers of one prediction. */
type StreamEvent = { event: string; data: string; id?: string | undefined };
export const { createReadableStream } = createRequire(import.meta.url)('replicate/lib/stream') as {
  createReadableStream(config: { url: string; fetch: typeof fetch }): ReadableStream<StreamEvent>;
};

/** The client with its `baseUrl` at the relay and the relay's key (open mode: any) as its token. */
export const gatewayReplicate = (url: string, auth = 'any-gateway-key') => new Replicate({ auth, baseUrl: `${url}/replicate/v1` });

/** `GET /_sim/replicate/stats` of the simulator behind the target. */
export async function replicateStats(t: ScenarioTarget): Promise<ReplicateStats> {
  return (await (await fetch(`${new URL(t.simulatorUrl).origin}/_sim/replicate/stats`)).json()) as ReplicateStats;
}

/** Streams the simulator opened for one prediction. */
export const streamsOf = (stats: ReplicateStats, id: string) =>
  stats.requests.filter((request) => request.path === `/replicate/streaming/v1/predictions/${id}`).length;

/** A stream's events until it ends, each as `{event, data, id}`. */
export async function collect(stream: AsyncIterable<StreamEvent>): Promise<StreamEvent[]> {
  const events: StreamEvent[] = [];
  for await (const event of stream) events.push({ event: event.event, data: String(event.data), id: event.id ?? '' });
  return events;
}

const LLAMA = 'meta/llama-sim';
const FLUX = 'acme/flux-sim';

/**
 * The official `replicate` client against a relay serving the replicate profile, whatever the
 * runtime behind the target (it needs POLL_INTERVAL_MS ≤ 30 and the simulator without a fixed SIM_TOKEN).
 */
export function replicateSdkScenarios(t: () => ScenarioTarget): void {
  describe('the official replicate client through the relay', () => {
    it('run on an image model: the output URLs, the prediction’s URLs at the relay, polled status changes', async () => {
      const replicate = gatewayReplicate(t().url);
      const seen: Prediction[] = [];
      const output = await replicate.run(FLUX, { input: { prompt: 'a cat --sim-steps 3 --sim-interval 20' } }, (p) => void seen.push(p));
      const [image] = output as string[];
      expect(image).toMatch(/\/_sim\/images\/[a-z2-7]{26}\/1\.png$/);
      const first = seen[0] as Prediction;
      expect(first.urls.get).toBe(`${t().url}/replicate/v1/predictions/${first.id}`);
      expect(first.urls.stream).toMatch(new RegExp(`^${t().url}/replicate/v1/predictions/${first.id}/stream\\?token=`));
      expect(seen.at(-1)).toMatchObject({ status: 'succeeded', output: [image] });
      // The drop-in stream of a model that does not stream: its polled log lines and output, then done.
      const events = await collect(createReadableStream({ url: first.urls.stream as string, fetch }));
      expect(events.map((e) => e.event)).toEqual(['logs', 'logs', 'logs', 'output', 'done']);
      expect(events.filter((e) => e.event === 'logs').map((e) => e.data)).toEqual(['step 1/3', 'step 2/3', 'step 3/3']);
      expect(events.at(-2)?.data).toBe(image);
    });

    it('stream on a language model: every token, then done, numbered by the relay, over one upstream stream', async () => {
      const replicate = gatewayReplicate(t().url);
      const events = await collect(replicate.stream(LLAMA, { input: { prompt: 'tell me --sim-steps 5 --sim-interval 20' } }));
      expect(events.map((e) => e.event)).toEqual(['output', 'output', 'output', 'output', 'output', 'done']);
      expect(events.at(-1)?.data).toBe('{}');
      // Gateway seqs, not the vendor's `<seconds>:<n>`: the create's answer is 0.
      expect(events.map((e) => e.id)).toEqual(['1', '2', '3', '4', '5', '6']);
      const ids = (await replicateStats(t())).requests.filter((r) => r.method === 'POST' && r.path.startsWith('/replicate/v1/models/'));
      expect(ids.length).toBeGreaterThan(0);
      const text = events
        .filter((e) => e.event === 'output')
        .map((e) => e.data)
        .join('');
      expect(text.split(' ')).toHaveLength(5);
    });

    it('three clients stream one prediction over one upstream stream, each getting every token', async () => {
      const replicate = gatewayReplicate(t().url);
      const before = (await replicateStats(t())).streamsServed;
      const prediction = await replicate.predictions.create({ model: LLAMA, input: { prompt: 'shared --sim-steps 6 --sim-interval 40' } });
      const viewers = [0, 1, 2].map(() => collect(createReadableStream({ url: prediction.urls.stream as string, fetch })));
      const results = await Promise.all(viewers);
      for (const events of results) {
        expect(events.map((e) => e.event)).toEqual([...Array<string>(6).fill('output'), 'done']);
        expect(events).toEqual(results[0]);
      }
      const stats = await replicateStats(t());
      expect(streamsOf(stats, prediction.id)).toBe(1);
      expect(stats.streamsServed - before).toBe(1);
    });

    it('predictions.get after the simulator dropped the prediction’s data still answers it whole, from the history', async () => {
      const replicate = gatewayReplicate(t().url);
      const ended = await replicate.predictions.create({
        model: FLUX,
        input: { prompt: 'kept --sim-steps 1 --sim-interval 5 --sim-retention 300' },
        wait: true,
      });
      expect(ended.status).toBe('succeeded');
      const direct = `${new URL(t().simulatorUrl).origin}/replicate/v1/predictions/${ended.id}`;
      await until(
        async () => ((await (await fetch(direct, { headers: { Authorization: 'Bearer x' } })).json()) as Prediction).data_removed,
      );
      const kept = await replicate.predictions.get(ended.id);
      expect(kept).toMatchObject({ id: ended.id, status: 'succeeded', output: ended.output, logs: 'step 1/1\n', data_removed: false });
      expect(kept.input).toMatchObject({ prompt: expect.stringContaining('kept') });
      expect(kept.metrics?.predict_time).toBeTypeOf('number');
    });

    it('a dropped upstream stream is not reopened: the prediction is polled to its end and the stream misses no token', async () => {
      const replicate = gatewayReplicate(t().url);
      const prediction = await replicate.predictions.create({
        model: LLAMA,
        input: { prompt: 'cut --sim-steps 6 --sim-interval 40 --sim-drop-after 2' },
      });
      const events = await collect(createReadableStream({ url: prediction.urls.stream as string, fetch }));
      expect(events.map((e) => e.event)).toEqual([...Array<string>(6).fill('output'), 'done']);
      // Numbered by the relay, in order (a polled change that stands for several vendor events gives them one id).
      const ids = events.map((e) => Number(e.id));
      expect([...ids].sort((a, b) => a - b)).toEqual(ids);
      const final = await replicate.predictions.get(prediction.id);
      expect(events.filter((e) => e.event === 'output').map((e) => e.data)).toEqual(final.output);
      const stats = await replicateStats(t());
      expect(streamsOf(stats, prediction.id)).toBe(1);
      expect(stats.polls[prediction.id]).toBeGreaterThan(0);
    });

    it('follows a prediction created directly on Replicate for its readers, from its first poll, never repeating its output', async () => {
      const direct = await fetch(`${new URL(t().simulatorUrl).origin}/replicate/v1/models/${LLAMA}/predictions`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: 'Bearer any-token' },
        body: JSON.stringify({ input: { prompt: 'elsewhere --sim-steps 5 --sim-interval 30' } }),
      });
      const { id } = (await direct.json()) as { id: string };
      const replicate = gatewayReplicate(t().url);
      const known = await replicate.predictions.get(id);
      const events = await collect(createReadableStream({ url: known.urls.stream as string, fetch }));
      expect(events.at(-1)?.event).toBe('done');
      const final = await replicate.predictions.get(id);
      expect(final.status).toBe('succeeded');
      expect(events.filter((e) => e.event === 'output').map((e) => e.data)).toEqual(final.output);
    });

    it('Prefer: wait=N answers the prediction as it stands once the wait is over', async () => {
      const response = await fetch(`${t().url}/replicate/v1/models/${LLAMA}/predictions`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Prefer: 'wait=1' },
        body: JSON.stringify({ input: { prompt: 'slow --sim-steps 300 --sim-interval 20' } }),
      });
      expect(response.status).toBe(201);
      const prediction = (await response.json()) as Prediction;
      expect(['starting', 'processing']).toContain(prediction.status);
      await gatewayReplicate(t().url).predictions.cancel(prediction.id);
    });

    it('a failed prediction: run throws as from Replicate, stream throws on its error event', async () => {
      const replicate = gatewayReplicate(t().url);
      await expect(replicate.run(FLUX, { input: { prompt: 'x --sim-steps 1 --sim-interval 5 --sim-outcome failed' } })).rejects.toThrow(
        /Prediction failed: .*simulated model/,
      );
      await expect(
        collect(replicate.stream(LLAMA, { input: { prompt: 'y --sim-steps 1 --sim-interval 5 --sim-outcome failed' } })),
      ).rejects.toThrow(/simulated model/);
    });

    it('cancel ends the prediction canceled; its stream ends with done and the reason', async () => {
      const replicate = gatewayReplicate(t().url);
      const prediction = await replicate.predictions.create({ model: LLAMA, input: { prompt: 'long --sim-steps 200 --sim-interval 30' } });
      const stream = collect(createReadableStream({ url: prediction.urls.stream as string, fetch }));
      const cancelled = await replicate.predictions.cancel(prediction.id);
      expect(cancelled.urls.get).toBe(`${t().url}/replicate/v1/predictions/${prediction.id}`);
      const events = await stream;
      expect(events.at(-1)).toMatchObject({ event: 'done', data: '{"reason":"canceled"}' });
      expect((await replicate.predictions.get(prediction.id)).status).toBe('canceled');
    });

    it('errors in Replicate’s shape: {"detail"} for a missing version, the vendor’s own 422, and an unknown prediction', async () => {
      const post = (path: string, body: unknown) =>
        fetch(`${t().url}/replicate/v1${path}`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify(body),
        });
      const noVersion = await post('/predictions', { input: { prompt: 'x' } });
      expect(noVersion.status).toBe(400);
      expect(await noVersion.json()).toMatchObject({ detail: expect.stringContaining('version') });
      const badInput = await post(`/models/${FLUX}/predictions`, { input: 'not an object' });
      expect(badInput.status).toBe(400);
      const rejected = await post(`/models/${FLUX}/predictions`, { input: { prompt: 'x --sim-status 422' } });
      expect(rejected.status).toBe(422);
      expect(await rejected.json()).toMatchObject({ detail: expect.any(String) });
      const upstreamDown = await post(`/models/${FLUX}/predictions`, { input: { prompt: 'x --sim-status 500' } });
      expect([500, 502]).toContain(upstreamDown.status);
      expect(await upstreamDown.json()).toMatchObject({ detail: expect.any(String) });
      const unknown = await fetch(`${t().url}/replicate/v1/predictions/nosuchprediction`);
      expect(unknown.status).toBe(404);
      expect(await unknown.json()).toMatchObject({ detail: expect.any(String) });
      await expect(gatewayReplicate(t().url).predictions.get('nosuchprediction')).rejects.toThrow(/404/);
    });
  });
}
