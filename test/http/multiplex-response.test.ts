import { afterEach, describe, expect, it } from 'vitest';
import type { JobRef } from '../../src/core/auth/job-ref.ts';
import { RelayError } from '../../src/core/errors.ts';
import type { Relay } from '../../src/core/relay.ts';
import { multiplexedResponse } from '../../src/http/multiplex-response.ts';
import { type SinkInit, openStreamSink } from '../../src/http/subscription-response.ts';
import { acmeProfile, controlledUpstream } from '../support/acme-stream.ts';
import { memoryRelay } from '../support/memory-relay.ts';
import { until } from '../support/until.ts';

// The multiplexed stream from this process's hubs: one disconnect path for every job, refusals that
// release what was opened, 204 when there is nothing left to send.

let relays: Relay[] = [];
afterEach(async () => {
  await Promise.all(relays.map((relay) => relay.close()));
  relays = [];
});

/** A relay of profile `name` whose job `j1` sent `queued` and `running` (and `done` when `finished`). */
async function relayWithJob(name: string, finished: boolean): Promise<Relay> {
  const { upstream, emit } = controlledUpstream();
  const relay = memoryRelay({ ...acmeProfile, name }, upstream);
  relays.push(relay);
  emit({ seq: 0, id: 'j1', status: 'queued' });
  emit({ seq: 1, id: 'j1', status: 'running' });
  if (finished) emit({ seq: 2, id: 'j1', status: 'done' });
  await relay.create('x', {});
  await until(async () => (await relay.snapshot('j1'))?.status === (finished ? 'done' : 'running'), 'the job stored');
  return relay;
}

const both: readonly JobRef[] = [
  { profile: 'acme', jobId: 'j1' },
  { profile: 'acme2', jobId: 'j1' },
];

function subscriber(byProfile: Map<string, Relay>) {
  return (job: JobRef, since: number) => (byProfile.get(job.profile) as Relay).subscribe(job.jobId, since);
}

describe('multiplexedResponse', () => {
  it('frees every hub and the slot once, through one path, when the client leaves', async () => {
    const byProfile = new Map([
      ['acme', await relayWithJob('acme', false)],
      ['acme2', await relayWithJob('acme2', false)],
    ]);
    let closed = 0;
    let opened = 0;
    const response = await multiplexedResponse(
      both.map((job) => ({ job, since: -1 })),
      subscriber(byProfile),
      {
        retryMs: 1000,
        maxQueuedBytes: 1 << 20,
        headers: { 'X-Request-Id': 'r-1' },
        onClose: () => void closed++,
        openSink: (init: SinkInit) => {
          opened++;
          return openStreamSink(init);
        },
      },
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('X-Request-Id')).toBe('r-1');
    expect(opened).toBe(1);
    const subscribers = () => [...byProfile.values()].map((relay) => relay.counts().subscribers);
    expect(subscribers()).toEqual([1, 1]);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    while (!text.includes('"job":"acme2/j1","seq":1')) text += new TextDecoder().decode((await reader.read()).value);
    expect(text.startsWith('retry: 1000\n\n')).toBe(true);
    await reader.cancel();
    expect(subscribers()).toEqual([0, 0]);
    expect(closed).toBe(1);
  });

  it('ends the whole stream when one relay drains, through the same one path: the client resumes every job elsewhere', async () => {
    const byProfile = new Map([
      ['acme', await relayWithJob('acme', false)],
      ['acme2', await relayWithJob('acme2', false)],
    ]);
    let closed = 0;
    const response = await multiplexedResponse(
      both.map((job) => ({ job, since: 1 })),
      subscriber(byProfile),
      { retryMs: 1000, maxQueuedBytes: 1 << 20, onClose: () => void closed++ },
    );
    await (byProfile.get('acme2') as Relay).drain(0);
    expect(await new Response(response.body).text()).toBe('retry: 1000\n\n');
    expect(closed).toBe(1);
    expect([...byProfile.values()].map((relay) => relay.counts().subscribers)).toEqual([0, 0]);
  });

  it('refuses the whole stream when one job is refused, naming it, and releases what it opened', async () => {
    const byProfile = new Map([['acme', await relayWithJob('acme', false)]]);
    let closed = 0;
    const subscribe = (job: JobRef, since: number) =>
      job.profile === 'acme' ? subscriber(byProfile)(job, since) : Promise.reject(new RelayError('not_found', 'Job not found'));
    const refused = multiplexedResponse(
      both.map((job) => ({ job, since: -1 })),
      subscribe,
      { retryMs: 1000, maxQueuedBytes: 1 << 20, onClose: () => void closed++ },
    );
    await expect(refused).rejects.toMatchObject({ code: 'not_found', status: 404, message: 'acme2/j1: Job not found' });
    expect(closed).toBe(1);
  });

  it('answers 204 when the client has every job’s terminal event, the slot freed at once, no sink opened', async () => {
    const byProfile = new Map([
      ['acme', await relayWithJob('acme', true)],
      ['acme2', await relayWithJob('acme2', true)],
    ]);
    let closed = 0;
    let opened = 0;
    const response = await multiplexedResponse(
      both.map((job) => ({ job, since: 2 })),
      subscriber(byProfile),
      {
        retryMs: 1000,
        maxQueuedBytes: 1 << 20,
        onClose: () => void closed++,
        openSink: (init) => {
          opened++;
          return openStreamSink(init);
        },
      },
    );
    expect(response.status).toBe(204);
    expect([closed, opened]).toEqual([1, 0]);
  });
});
