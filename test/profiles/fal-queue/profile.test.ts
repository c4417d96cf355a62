import { describe, expect, it } from 'vitest';
import type { JobEvent } from '../../../src/core/ingest/event.ts';
import type { FrameStyle } from '../../../src/core/profile.ts';
import {
  KEPT_LOG_CHARS,
  KEPT_LOG_LINES,
  appIdOf,
  falJobId,
  falQueue,
  parseFalStatus,
  splitFalJobId,
} from '../../../src/profiles/fal-queue/profile.ts';
import { allowedTarget, parseQueueCall } from '../../../src/profiles/fal-queue/paths.ts';

const ID = '80e732af-660e-45cd-bd63-580e4f2a94cc';
const log = (message: string) => ({ message, level: 'INFO', source: 'USER', timestamp: `2026-12-01T10:00:0${message.length}.000Z` });
const event = (body: Record<string, unknown>, seq = 0) => parseFalStatus(JSON.stringify({ request_id: ID, ...body }), seq) as JobEvent;

describe('fal-queue ids and paths', () => {
  it('keeps owner/app (three segments for namespaced ids) in the job id, and splits it back', () => {
    expect(appIdOf('fal-ai/flux/dev')).toBe('fal-ai/flux');
    expect(appIdOf('workflows/me/app/x')).toBe('workflows/me/app');
    expect(appIdOf('fal-ai')).toBeUndefined();
    expect(appIdOf('fal-ai/flux:x')).toBeUndefined();
    expect(falJobId('fal-ai/flux', ID)).toBe(`fal-ai:flux:${ID}`);
    expect(splitFalJobId(`workflows:me:app:${ID}`)).toEqual({ appId: 'workflows/me/app', requestId: ID });
    expect(falQueue.streamRequest(`fal-ai:flux:${ID}`)).toEqual({
      method: 'GET',
      path: `/fal-ai/flux/requests/${ID}/status/stream?logs=1`,
      stream: true,
    });
    expect(falQueue.startedJobId({ status: 200, body: { request_id: ID } }, 'fal-ai/flux/dev')).toBe(`fal-ai:flux:${ID}`);
    expect(falQueue.startedJobId({ status: 422, body: { detail: [] } }, 'fal-ai/flux/dev')).toBeUndefined();
  });

  it('reads the queue paths below the host', () => {
    expect(parseQueueCall('POST', '/fal-ai/flux/dev')).toEqual({ kind: 'submit', endpoint: 'fal-ai/flux/dev' });
    expect(parseQueueCall('GET', `/fal-ai/flux/requests/${ID}/status`)).toMatchObject({ kind: 'status', jobId: `fal-ai:flux:${ID}` });
    expect(parseQueueCall('GET', `/fal-ai/flux/requests/${ID}/status/stream`)).toMatchObject({ kind: 'stream' });
    expect(parseQueueCall('GET', `/fal-ai/flux/requests/${ID}`)).toMatchObject({ kind: 'result', requestId: ID });
    expect(parseQueueCall('PUT', `/fal-ai/flux/requests/${ID}/cancel`)).toMatchObject({ kind: 'cancel' });
    expect(parseQueueCall('DELETE', `/fal-ai/flux/requests/${ID}`)).toBeUndefined();
    expect(parseQueueCall('GET', '/fal-ai/flux/requests/a:b/status')).toBeUndefined();
    expect(parseQueueCall('GET', '/fal-ai/flux/other/x')).toBeUndefined();
  });

  it('allows the targets fal server proxy allows, and nothing else', () => {
    expect(allowedTarget('https://queue.fal.run/fal-ai/flux/dev?x=1').pathname).toBe('/fal-ai/flux/dev');
    expect(allowedTarget('https://fal.run/fal-ai/flux/dev').hostname).toBe('fal.run');
    expect(allowedTarget('https://rest.fal.ai/storage/upload/initiate').hostname).toBe('rest.fal.ai');
    for (const bad of [
      undefined,
      '',
      'nope',
      'http://queue.fal.run/x',
      'https://queue.fal.run@127.0.0.1/x',
      'https://user:pw@queue.fal.run/x',
      'https://queue.fal.run:444/x',
      'https://localhost/x',
      'https://[::1]/x',
      'https://queue.fal.run.attacker.example/x',
      'https://rest.fal.ai/tokens/',
    ]) {
      expect(() => allowedTarget(bad), String(bad)).toThrow(/Invalid request/);
    }
  });
});

describe('fal-queue statuses', () => {
  it('are events typed by status, terminal at COMPLETED, their URLs on fal host whatever the endpoint', () => {
    const url = `http://127.0.0.1:4000/fal/queue/fal-ai/flux/requests/${ID}`;
    const parsed = event({ status: 'IN_QUEUE', queue_position: 0, response_url: url, status_url: `${url}/status` });
    expect(parsed).toMatchObject({ seq: 0, type: 'IN_QUEUE', terminal: false });
    expect(JSON.parse(parsed.data).status_url).toBe(`https://queue.fal.run/fal-ai/flux/requests/${ID}/status`);
    expect(event({ status: 'COMPLETED', logs: [] }, 7)).toMatchObject({ seq: 7, terminal: true });
    expect(parseFalStatus('{"status":"IN_QUEUE","request_id":1}', 0)).toBe('request_id is not a string');
    expect(parseFalStatus('{"note":1}', 0)).toBe('missing status');
    expect(parseFalStatus('[]', 0)).toBe('not a JSON object');
  });

  it('a reopened stream or a poll: a repeated status is dropped, log lines already stored are cut off the data', () => {
    const unseen = falQueue.unseenPart;
    const stored = event({ status: 'IN_PROGRESS', logs: [log('a'), log('bb')] });
    const last = stored.job!;
    expect(unseen(event({ status: 'IN_PROGRESS', logs: [log('bb')] }), last)).toBeUndefined();
    expect(unseen(event({ status: 'IN_PROGRESS', logs: [log('a'), log('bb')] }), last)).toBeUndefined();
    const more = unseen(event({ status: 'IN_PROGRESS', logs: [log('a'), log('bb'), log('ccc')] }), last)!;
    expect(JSON.parse(more.data).logs).toEqual([log('ccc')]);
    const done = unseen(event({ status: 'COMPLETED', logs: [log('a'), log('bb')] }), last)!;
    expect(done).toMatchObject({ terminal: true, type: 'COMPLETED' });
    expect(JSON.parse(done.data).logs).toEqual([]);
    // A live log event names only its new line: its data kept as it is.
    const live = event({ status: 'IN_PROGRESS', logs: [log('dddd')] });
    expect(unseen(live, last)?.data).toBe(live.data);
    expect(unseen(live, undefined)).toBe(live);
  });

  it('the stored snapshot keeps every log line so far, the data only the new ones', () => {
    const unseen = falQueue.unseenPart;
    const first = unseen(event({ status: 'IN_PROGRESS', logs: [log('a')] }), undefined)!;
    expect(first.snapshot).toBeUndefined();
    const second = unseen(event({ status: 'IN_PROGRESS', logs: [log('bb')] }), first.job)!;
    expect(JSON.parse(second.data).logs).toEqual([log('bb')]);
    expect(JSON.parse(second.snapshot!).logs).toEqual([log('a'), log('bb')]);
    expect(second.job?.logs).toEqual([log('a'), log('bb')]);
    // What a reopened stream starts with, then COMPLETED with no lines of its own.
    const reopened = unseen(event({ status: 'IN_PROGRESS', logs: [log('a'), log('bb'), log('ccc')] }), second.job)!;
    expect(JSON.parse(reopened.data).logs).toEqual([log('ccc')]);
    const done = falQueue.withResult(unseen(event({ status: 'COMPLETED', logs: [] }), reopened.job)!, { status: 200, body: { ok: 1 } });
    expect(JSON.parse(done.data)).toMatchObject({ status: 'COMPLETED', logs: [], result: { status: 200 } });
    expect(JSON.parse(done.snapshot!)).toMatchObject({ logs: [log('a'), log('bb'), log('ccc')], result: { status: 200, body: { ok: 1 } } });
    // The snapshot is read back as the stored job object.
    expect((parseFalStatus(done.snapshot!, 0) as JobEvent).job?.logs).toHaveLength(3);
  });

  it('keeps the newest KEPT_LOG_LINES lines, and no more than KEPT_LOG_CHARS of them', () => {
    const lines = Array.from({ length: KEPT_LOG_LINES + 5 }, (_, i) => ({ message: `line ${i}`, level: 'INFO' }));
    const many = falQueue.unseenPart(event({ status: 'IN_PROGRESS', logs: lines }), undefined)!;
    expect(JSON.parse(many.data).logs).toHaveLength(KEPT_LOG_LINES + 5);
    const kept = JSON.parse(many.snapshot!).logs as { message: string }[];
    expect(kept).toHaveLength(KEPT_LOG_LINES);
    expect(kept[0]?.message).toBe('line 5');
    const next = falQueue.unseenPart(event({ status: 'IN_PROGRESS', logs: [{ message: 'next', level: 'INFO' }] }), many.job)!;
    expect((next.job!.logs as { message: string }[]).at(-1)?.message).toBe('next');
    expect(next.job?.logs).toHaveLength(KEPT_LOG_LINES);
    const huge = Array.from({ length: 5 }, (_, i) => ({ message: `${i}${'x'.repeat(KEPT_LOG_CHARS / 3)}`, level: 'INFO' }));
    const big = falQueue.unseenPart(event({ status: 'IN_PROGRESS', logs: huge }), undefined)!;
    expect((big.job!.logs as { message: string }[]).map((line) => line.message[0])).toEqual(['3', '4']);
    expect(big.snapshot!.length).toBeLessThan(KEPT_LOG_CHARS + 1000);
  });

  it('stores the result with the terminal status', () => {
    const completed = event({ status: 'COMPLETED', logs: [] }, 3);
    const stored = falQueue.withResult(completed, { status: 200, body: { images: [] } });
    expect(JSON.parse(stored.data)).toMatchObject({ status: 'COMPLETED', result: { status: 200, body: { images: [] } } });
    expect(stored).toMatchObject({ seq: 3, terminal: true });
  });

  it("synthesizes the relay's COMPLETED naming the request, with its URLs on fal host, read back as terminal", () => {
    const jobId = `fal-ai:flux:${ID}`;
    const synthesized = falQueue.terminalEvent(4, 'gave up', new Date(), { jobId, last: { status: 'IN_PROGRESS', logs: [log('a')] } });
    const base = `https://queue.fal.run/fal-ai/flux/requests/${ID}`;
    const job = {
      status: 'COMPLETED',
      request_id: ID,
      logs: [],
      error: 'gave up',
      error_type: 'relay_gave_up',
      response_url: base,
      status_url: `${base}/status`,
      cancel_url: `${base}/cancel`,
    };
    expect(JSON.parse(synthesized.data)).toEqual(job);
    expect(synthesized).toMatchObject({ seq: 4, type: 'COMPLETED', terminal: true, job });
    expect(parseFalStatus(synthesized.data, 4)).toMatchObject({ terminal: true, job });
  });
});

describe('fal-queue drop-in frames', () => {
  it('end a stream cut short with one line of data that is not JSON (the client rejects on it), the same at every seq', () => {
    const style: FrameStyle = falQueue.dropInFrames;
    const data = style.earlyEnd?.(41) ?? '';
    expect(data).toBe(style.earlyEnd?.(0));
    expect(data).not.toContain('\n');
    expect(data.startsWith('stream cut')).toBe(true);
    expect(() => JSON.parse(data)).toThrow(SyntaxError);
    expect(style).toMatchObject({ noGapFrames: true, emptyWhenFinished: true });
  });
});
