import { createFalClient } from '@fal-ai/client';
import type { FalClient, QueueStatus } from '@fal-ai/client';
import { EventSource } from 'eventsource';
import { describe, expect, it } from 'vitest';
import type { FalStats } from '@sse-relay/simulator';
import { until } from '../support/until.ts';
import type { ScenarioTarget } from './target.ts';

export const FLUX = 'fal-ai/flux/dev';
export type FluxOutput = { images: Array<{ url: string }>; prompt: string };

/** The client with every request sent to the relay's `/fal/proxy` (the target in `x-fal-target-url`). */
export function proxiedFal(url: string, credentials = 'any'): FalClient {
  return createFalClient({ credentials, proxyUrl: { url: `${url}/fal/proxy`, when: 'always' } });
}

/** The client with fal's queue host rewritten to the relay's `/fal/queue`. */
export function rewrittenFal(url: string, credentials = 'any'): FalClient {
  return createFalClient({
    credentials,
    requestMiddleware: async (request) => ({ ...request, url: request.url.replace('https://queue.fal.run', `${url}/fal/queue`) }),
  });
}

/** `GET /_sim/fal/stats` of the simulator behind the target. */
export async function falStats(t: ScenarioTarget): Promise<FalStats> {
  return (await (await fetch(`${new URL(t.simulatorUrl).origin}/_sim/fal/stats`)).json()) as FalStats;
}

/** Status streams the simulator opened for one request. */
export const streamsOf = (stats: FalStats, requestId: string) =>
  stats.requests.filter((request) => request.method === 'GET' && request.path.includes(`/requests/${requestId}/status/stream`)).length;

export const messages = (status: QueueStatus) => ('logs' in status ? (status.logs ?? []).map((line) => line.message) : []);
export const steps = (n: number) => Array.from({ length: n }, (_, i) => `step ${i + 1}/${n}`);

/**
 * The official `@fal-ai/client` against a relay serving fal-queue, whatever the runtime behind
 * the target (it needs POLL_INTERVAL_MS ≤ 30 and the simulator without a fixed SIM_TOKEN).
 */
export function falSdkScenarios(t: () => ScenarioTarget): void {
  describe('@fal-ai/client through the relay', () => {
    it('subscribe (polling) through /fal/proxy: statuses from the history, the result fetched once, one upstream stream', async () => {
      const fal = proxiedFal(t().url);
      const updates: QueueStatus[] = [];
      let enqueued = '';
      const result = await fal.subscribe(FLUX, {
        input: { prompt: 'a cat --sim-steps 3 --sim-interval 100' },
        logs: true,
        pollInterval: 20,
        onEnqueue: (id) => void (enqueued = id),
        onQueueUpdate: (update) => void updates.push(update),
      });
      expect(result.requestId).toBe(enqueued);
      expect((result.data as FluxOutput).prompt).toBe('a cat --sim-steps 3 --sim-interval 100');
      expect(updates.at(-1)?.status).toBe('COMPLETED');
      const stats = await falStats(t());
      expect(streamsOf(stats, enqueued)).toBe(1);
      expect(stats.resultFetches[enqueued]).toBe(1);
      // Polls were answered from the history: only those before its first status was stored went upstream.
      expect(stats.statusPolls[enqueued] ?? 0).toBeLessThan(updates.length);
    });

    it('subscribe (streaming) through /fal/proxy gathers every log line and ends with COMPLETED', async () => {
      const fal = proxiedFal(t().url);
      const updates: QueueStatus[] = [];
      const result = await fal.subscribe(FLUX, {
        input: { prompt: 'a dog --sim-steps 4 --sim-queue 2 --sim-interval 20' },
        logs: true,
        mode: 'streaming',
        onQueueUpdate: (update) => void updates.push(update),
      });
      expect((result.data as FluxOutput).images).toHaveLength(1);
      const last = updates.at(-1)!;
      expect(last.status).toBe('COMPLETED');
      expect(messages(last)).toEqual(steps(4));
      const stats = await falStats(t());
      expect(streamsOf(stats, result.requestId)).toBe(1);
      expect(stats.resultFetches[result.requestId]).toBe(1);
    });

    it.each([
      ['/fal/proxy', proxiedFal],
      ['requestMiddleware', rewrittenFal],
    ])(
      'queue.submit answers URLs at the relay; streamStatus ends with one COMPLETED, status and result from the history (%s)',
      async (_how, client) => {
        const fal = client(t().url);
        const submitted = await fal.queue.submit(FLUX, { input: { prompt: 'an owl --sim-steps 2 --sim-interval 20' } });
        expect(submitted.status).toBe('IN_QUEUE');
        expect(submitted.status_url).toBe(`${t().url}/fal/queue/fal-ai/flux/requests/${submitted.request_id}/status`);
        const stream = await fal.queue.streamStatus(FLUX, { requestId: submitted.request_id, logs: true });
        const seen: string[] = [];
        stream.on('data', (data: QueueStatus) => void seen.push(data.status));
        const done = (await stream.done()) as QueueStatus;
        expect(done.status).toBe('COMPLETED');
        expect(seen.at(-1)).toBe('COMPLETED');
        expect(seen.filter((status) => status === 'COMPLETED')).toHaveLength(1);
        const before = await falStats(t());
        expect(await fal.queue.status(FLUX, { requestId: submitted.request_id, logs: true })).toMatchObject({ status: 'COMPLETED' });
        for (let i = 0; i < 2; i++) {
          const result = await fal.queue.result(FLUX, { requestId: submitted.request_id });
          expect(result.requestId).toBe(submitted.request_id);
          expect((result.data as FluxOutput).prompt).toContain('an owl');
        }
        const after = await falStats(t());
        expect(after.resultFetches[submitted.request_id]).toBe(1);
        expect(after.statusPolls[submitted.request_id] ?? 0).toBe(before.statusPolls[submitted.request_id] ?? 0);
      },
    );

    it('three viewers of one request share one upstream status stream; the uniform path serves it to EventSource', async () => {
      const fal = rewrittenFal(t().url);
      const { request_id } = await fal.queue.submit(FLUX, { input: { prompt: 'shared --sim-steps 4 --sim-interval 50' } });
      const viewers = [0, 1, 2].map(async () => {
        const stream = await fal.queue.streamStatus(FLUX, { requestId: request_id, logs: true });
        return (await stream.done()) as QueueStatus;
      });
      const uniform = new Promise<string[]>((resolve, reject) => {
        const types: string[] = [];
        const source = new EventSource(`${t().url}/v1/jobs/fal-queue/fal-ai:flux:${request_id}/stream`);
        source.onmessage = (message) => {
          const data = JSON.parse(message.data) as { status: string };
          types.push(data.status);
          if (data.status === 'COMPLETED') {
            source.close();
            resolve(types);
          }
        };
        source.onerror = () => reject(new Error('EventSource failed'));
      });
      for (const done of await Promise.all(viewers)) expect(done.status).toBe('COMPLETED');
      expect((await uniform).at(-1)).toBe('COMPLETED');
      const stats = await falStats(t());
      expect(streamsOf(stats, request_id)).toBe(1);
      expect(stats.resultFetches[request_id]).toBe(1);
    });

    it('a late joiner gets the result after the upstream dropped it', async () => {
      const fal = rewrittenFal(t().url);
      const { requestId } = await fal.subscribe(FLUX, {
        input: { prompt: 'brief --sim-steps 1 --sim-interval 20 --sim-retention 1500' },
        pollInterval: 20,
      });
      expect((await falStats(t())).resultFetches[requestId]).toBe(1);
      // The vendor forgets it soon after: its own result call becomes a 404.
      const vendorResult = `${new URL(t().simulatorUrl).origin}/fal/queue/fal-ai/flux/requests/${requestId}`;
      await until(
        () => fetch(vendorResult, { headers: { Authorization: 'Key any-simulator-key' } }).then((response) => response.status),
        (status) => status === 404,
      );
      const fetched = (await falStats(t())).resultFetches[requestId];
      const late = await fal.queue.result(FLUX, { requestId });
      expect((late.data as FluxOutput).prompt).toBe('brief --sim-steps 1 --sim-interval 20 --sim-retention 1500');
      const stream = await fal.queue.streamStatus(FLUX, { requestId, logs: true });
      const done = (await stream.done()) as QueueStatus & { result?: { status: number } };
      expect(done.status).toBe('COMPLETED');
      expect(done.result?.status).toBe(200);
      // Served from the history: the relay asked the vendor nothing more.
      expect((await falStats(t())).resultFetches[requestId]).toBe(fetched);
    });

    it('a dropped upstream status stream is reopened; the job completes with its result and no repeated status', async () => {
      const fal = rewrittenFal(t().url);
      const updates: QueueStatus[] = [];
      const result = await fal.subscribe(FLUX, {
        // Steps far enough apart that the job is still running when the relay reopens the stream, however loaded the machine.
        input: { prompt: 'dropped --sim-steps 4 --sim-interval 400 --sim-drop-after 2' },
        logs: true,
        mode: 'streaming',
        onQueueUpdate: (update) => void updates.push(update),
      });
      expect((result.data as FluxOutput).prompt).toContain('dropped');
      expect(streamsOf(await falStats(t()), result.requestId)).toBe(2);
      expect(messages(updates.at(-1)!)).toEqual(steps(4));
    });

    it('the proxy takes fal hosts only: no target, another host, credentials in the URL, loopback are 400 in fal shape', async () => {
      const submitsBefore = (await falStats(t())).submits;
      const cases = [
        undefined,
        'http://queue.fal.run/fal-ai/flux/dev',
        'https://queue.fal.run@127.0.0.1/fal-ai/flux/dev',
        'https://127.0.0.1/fal-ai/flux/dev',
        'https://queue.fal.run.evil.example/fal-ai/flux/dev',
        'https://queue.fal.run:8443/fal-ai/flux/dev',
        'https://rest.fal.ai/tokens/',
        'not a url',
      ];
      for (const target of cases) {
        const response = await fetch(`${t().url}/fal/proxy`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', ...(target ? { 'x-fal-target-url': target } : {}) },
          body: '{}',
        });
        expect(response.status, String(target)).toBe(400);
        expect(((await response.json()) as { detail: string }).detail).toMatch(/^Invalid request/);
      }
      expect((await falStats(t())).submits).toBe(submitsBefore);
    });
  });

  falPolledLogScenarios(t);
}

/** Log lines of polled statuses and streamed ones, through the client (Node runs them on Redis too). */
export function falPolledLogScenarios(t: () => ScenarioTarget): void {
  describe('@fal-ai/client: log lines of a polled status', () => {
    it('queue.status({logs:true}) answers every line so far in order, stream events carry their new lines only, logs=0 none', async () => {
      const fal = rewrittenFal(t().url);
      const { request_id: requestId } = await fal.queue.submit(FLUX, { input: { prompt: 'logs --sim-steps 5 --sim-interval 60' } });
      // Mid-job: at least three lines so far, every one of them.
      const midway = await until(
        () => fal.queue.status(FLUX, { requestId, logs: true }),
        (status) => messages(status).length >= 3,
      );
      expect(messages(midway)).toEqual(steps(5).slice(0, messages(midway).length));
      const stream = await fal.queue.streamStatus(FLUX, { requestId, logs: true });
      const events: QueueStatus[] = [];
      stream.on('data', (data: QueueStatus) => void events.push(data));
      await stream.done();
      // Each stored status carries one new line at most, and together they carry each line once.
      expect(events.every((event) => messages(event).length <= 1)).toBe(true);
      expect(events.flatMap(messages)).toEqual(steps(5));
      const done = await fal.queue.status(FLUX, { requestId, logs: true });
      expect(done.status).toBe('COMPLETED');
      expect(messages(done)).toEqual(steps(5));
      expect('logs' in done && done.logs?.[0]).toMatchObject({ level: 'INFO', source: 'USER', timestamp: expect.any(String) });
      for (const query of ['?logs=0', '']) {
        const plain = await fetch(`${t().url}/fal/queue/fal-ai/flux/requests/${requestId}/status${query}`);
        expect(plain.status).toBe(200);
        expect(await plain.json()).toMatchObject({ status: 'COMPLETED', logs: [] });
      }
    });

    it('polling-mode subscribe: each update has every line so far, the COMPLETED one all of them', async () => {
      const fal = proxiedFal(t().url);
      const updates: QueueStatus[] = [];
      await fal.subscribe(FLUX, {
        input: { prompt: 'polled logs --sim-steps 4 --sim-interval 40' },
        logs: true,
        pollInterval: 20,
        onQueueUpdate: (update) => void updates.push(update),
      });
      for (const update of updates) expect(steps(4).slice(0, messages(update).length)).toEqual(messages(update));
      expect(updates.at(-1)?.status).toBe('COMPLETED');
      expect(messages(updates.at(-1)!)).toEqual(steps(4));
    });
  });
}
