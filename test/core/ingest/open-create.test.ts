import { describe, expect, it } from 'vitest';
import { RelayError } from '../../../src/core/errors.ts';
import { openCreate } from '../../../src/core/ingest/open-create.ts';
import type { UpstreamReply } from '../../../src/core/profile.ts';
import type { StreamResult } from '../../../src/core/ingest/upstream.ts';
import { falQueue } from '../../../src/profiles/fal-queue/profile.ts';
import { midjourneyV3 } from '../../../src/profiles/midjourney-v3/profile.ts';

/** An upstream whose create answers `result`. */
const answering = (result: StreamResult) => ({ open: async () => result });
const reply = (status: number, body: unknown): StreamResult => ({ kind: 'reply', reply: { status, body } as UpstreamReply });

describe('openCreate: what a create answered', () => {
  it('a JSON answer naming the job: started, with the vendor answer and the checked id', async () => {
    const opened = await openCreate(answering(reply(200, { request_id: 'req-1', status: 'IN_QUEUE' })), falQueue, 'fal-ai/flux/dev', {});
    expect(opened).toMatchObject({ kind: 'started', jobId: 'fal-ai:flux:req-1', reply: { status: 200 } });
  });

  it('a refusal, or any answer naming no job, is passed on as it came', async () => {
    const refused = reply(422, { detail: 'bad input' });
    expect(await openCreate(answering(refused), falQueue, 'fal-ai/flux/dev', {})).toEqual(refused);
    // A vendor whose create answers the stream reads no id from a JSON answer.
    const json = reply(400, { error: 'nope' });
    expect(await openCreate(answering(json), midjourneyV3, 'imagine', { prompt: 'x' })).toEqual(json);
  });

  it('an unsafe id in the answer is an upstream_error before it becomes a key', async () => {
    const opened = openCreate(answering(reply(200, { request_id: 'x\r\nid: 9' })), falQueue, 'fal-ai/flux/dev', {});
    await expect(opened).rejects.toBeInstanceOf(RelayError);
    await expect(opened).rejects.toMatchObject({ code: 'upstream_error' });
  });

  it('a stream is handed back untouched (its first event names the job)', async () => {
    const body = new Response('data: {}\n\n').body as ReadableStream<Uint8Array>;
    expect(await openCreate(answering({ kind: 'stream', body }), midjourneyV3, 'imagine', { prompt: 'x' })).toEqual({
      kind: 'stream',
      body,
    });
  });
});
