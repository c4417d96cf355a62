import { describe, expect, it } from 'vitest';
import { parseFalScenario } from '../src/fal/directives.ts';
import { parseQueuePath } from '../src/fal/paths.ts';
import type { FalRun } from '../src/fal/request-run.ts';
import { createRunnerPool } from '../src/fal/runner-pool.ts';

describe('parseFalScenario', () => {
  it('gives the defaults for a plain prompt or none', () => {
    const plain = { ok: true, scenario: { outcome: 'completed', garbage: false, echoToken: false } };
    expect(parseFalScenario('a cat, 35mm')).toEqual(plain);
    expect(parseFalScenario(undefined)).toEqual(plain);
  });

  it('reads every directive, wherever it sits in the prompt', () => {
    const prompt =
      '--sim-steps 7 a cat\n--sim-interval 0 --sim-queue 3 --sim-outcome error --sim-drop-after 2 --sim-silent-after 4 --sim-status 503 --sim-busy 2 --sim-retention 1000 --sim-garbage --sim-echo-token';
    expect(parseFalScenario(prompt)).toEqual({
      ok: true,
      scenario: {
        steps: 7,
        intervalMs: 0,
        queue: 3,
        outcome: 'error',
        dropAfter: 2,
        silentAfter: 4,
        status: 503,
        busy: 2,
        retentionMs: 1000,
        garbage: true,
        echoToken: true,
      },
    });
  });

  it.each([
    ['--sim-nope', 'Unknown directive --sim-nope'],
    ['--sim-queue', '--sim-queue expects an integer 0-99'],
    ['--sim-outcome failed', '--sim-outcome expects one of completed|error'],
    ['--sim-status 200', '--sim-status expects an integer 400-599'],
    ['--sim-silent-after x', '--sim-silent-after expects an integer 0-10000'],
  ])('rejects %j', (directive, error) => {
    expect(parseFalScenario(`a cat ${directive}`)).toEqual({ ok: false, error });
  });
});

describe('parseQueuePath', () => {
  it('reads submit with the full model id and the request paths with owner/app', () => {
    expect(parseQueuePath('POST', '/fal-ai/flux/dev')).toEqual({ kind: 'submit', appId: 'fal-ai/flux', endpoint: 'fal-ai/flux/dev' });
    expect(parseQueuePath('POST', '/fal-ai/flux')).toEqual({ kind: 'submit', appId: 'fal-ai/flux', endpoint: 'fal-ai/flux' });
    expect(parseQueuePath('GET', '/fal-ai/flux/requests/r1')).toEqual({ kind: 'result', appId: 'fal-ai/flux', requestId: 'r1' });
    expect(parseQueuePath('GET', '/fal-ai/flux/requests/r1/status')).toEqual({ kind: 'status', appId: 'fal-ai/flux', requestId: 'r1' });
    expect(parseQueuePath('GET', '/fal-ai/flux/requests/r1/status/stream')).toMatchObject({ kind: 'stream', requestId: 'r1' });
    expect(parseQueuePath('PUT', '/fal-ai/flux/requests/r1/cancel')).toMatchObject({ kind: 'cancel', requestId: 'r1' });
  });

  it('keeps a workflows/comfy namespace in the app id', () => {
    expect(parseQueuePath('POST', '/workflows/me/flow/run')).toEqual({
      kind: 'submit',
      appId: 'workflows/me/flow',
      endpoint: 'workflows/me/flow/run',
    });
    expect(parseQueuePath('GET', '/comfy/me/graph/requests/r1/status')).toMatchObject({ kind: 'status', appId: 'comfy/me/graph' });
  });

  it.each([
    ['GET', '/fal-ai/flux/dev/requests/r1/status'],
    ['GET', '/fal-ai/flux/requests/r1/cancel'],
    ['PUT', '/fal-ai/flux/requests/r1'],
    ['DELETE', '/fal-ai/flux/requests/r1'],
    ['POST', '/fal-ai'],
    ['POST', '/fal-ai//dev'],
    ['GET', '/fal-ai/flux/requests/%2e%2e/status'],
    ['GET', ''],
  ])('refuses %s %s', (method, path) => {
    expect(parseQueuePath(method, path)).toBeUndefined();
  });
});

describe('createRunnerPool', () => {
  function stubRun(name: string, log: string[]): FalRun {
    return {
      requestId: name,
      view: () => ({ requestId: name, status: 'IN_QUEUE', queuePosition: 0, logs: [] }),
      answer: undefined,
      completedAt: undefined,
      subscribe: () => () => {},
      waitAt: (ahead) => void log.push(`${name} waits ${ahead}`),
      admit: () => void log.push(`${name} admitted`),
      cancel: () => 'OK',
      stop: () => {},
    };
  }

  it('admits up to the limit in order, tells the rest how many wait ahead, and admits the next when one settles', () => {
    const log: string[] = [];
    const pool = createRunnerPool(2);
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((name) => stubRun(name, log)) as [FalRun, FalRun, FalRun, FalRun];
    for (const run of [a, b, c, d]) pool.enqueue(run);
    expect(log).toEqual(['a admitted', 'b admitted', 'c waits 0', 'c waits 0', 'd waits 1']);
    expect([pool.running(), pool.queued()]).toEqual([2, 2]);
    log.length = 0;
    pool.settled(d); // a waiting request cancelled: c keeps its place
    pool.settled(a);
    expect(log).toEqual(['c waits 0', 'c admitted']);
    expect([pool.running(), pool.queued()]).toEqual([2, 0]);
  });
});
