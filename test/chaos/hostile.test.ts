import { describe, expect, it } from 'vitest';
import { checkText } from './harness/checks.ts';
import { lastEvent, runScenario } from './harness/scenario.ts';

// Real gateway processes on a real redis-server in front of a fake upstream that misbehaves
// (harness/hostile-upstream.ts). Each scenario: 50 subscribers over 2 instances, checked one by
// one, plus what that behaviour must not do.

const TIMEOUT = 90_000;
/** The real last event of a hostile job: seq 13, `midjourney_completed` (no stray content). */
const REAL_TERMINAL_SEQ = 13;

describe('chaos: a hostile upstream', () => {
  it(
    'a stray out-of-order terminal does not end the job: the real events and terminal arrive',
    () =>
      runScenario({
        upstream: 'hostile',
        prompt: 'chaos:stray-terminal',
        async verify(ctx, records) {
          for (const record of records) {
            const last = lastEvent(record);
            if (last.seq !== REAL_TERMINAL_SEQ || last.event !== 'midjourney_completed') {
              ctx.problem(`${record.name}: ended on seq ${last.seq} (${last.event}), not the upstream's terminal seq ${REAL_TERMINAL_SEQ}`);
            }
            if (record.raw.join('').includes('STRAY')) ctx.problem(`${record.name}: got the stray terminal event`);
          }
        },
      }),
    TIMEOUT,
  );

  it(
    'a seq of 2^53-1 is refused where it enters; the job carries on to its real end',
    () =>
      runScenario({
        upstream: 'hostile',
        prompt: 'chaos:huge-seq',
        async verify(ctx, records) {
          for (const record of records) {
            const last = lastEvent(record);
            if (last.seq !== REAL_TERMINAL_SEQ || last.event !== 'midjourney_completed') {
              ctx.problem(`${record.name}: ended on seq ${last.seq} (${last.event}), not the upstream's terminal`);
            }
            if (record.events.some((e) => e.seq > 1e15)) ctx.problem(`${record.name}: got the huge seq`);
          }
        },
      }),
    TIMEOUT,
  );

  it(
    'a stream that goes quiet but stays open is abandoned for polling; the job ends',
    () =>
      runScenario({
        upstream: 'hostile',
        prompt: 'chaos:quiet',
        // The idle limit (UPSTREAM_IDLE_MS, from the events fix) or else the deadline, which must hold in any phase.
        env: { UPSTREAM_IDLE_MS: '2000', JOB_DEADLINE_MS: '12000' },
      }),
    TIMEOUT,
  );

  it(
    'a 200 HTML answer to a create is a 502 JSON error (and leaks nothing); other jobs are unharmed',
    () =>
      runScenario({
        upstream: 'hostile',
        prompt: 'chaos:normal',
        async fault(ctx) {
          await ctx.eventsSeen(2);
          for (const gateway of ctx.cluster.gateways) {
            for (const stream of [false, true]) {
              const response = await fetch(`${gateway.url}/v3/midjourney/jobs/imagine`, {
                method: 'POST',
                headers: { 'Content-Type': 'application/json' },
                body: JSON.stringify({ prompt: 'chaos:html-200', stream }),
              });
              const text = await response.text();
              for (const leak of checkText(`html create on ${gateway.name}`, text, [ctx.token])) ctx.problem(leak);
              if (response.status !== 502)
                ctx.problem(`html create (stream:${stream}) on ${gateway.name} answered ${response.status}: ${text.slice(0, 200)}`);
              else expect(JSON.parse(text)).toMatchObject({ code: expect.any(String), error: expect.any(String) });
            }
          }
        },
      }),
    TIMEOUT,
  );

  for (const form of ['json-escaped', 'base64', 'percent', 'hex'] as const) {
    it(
      `the token echoed ${form} reaches no subscriber, reply or log in any decodable form`,
      () => runScenario({ upstream: 'hostile', prompt: `chaos:echo-${form}` }),
      TIMEOUT,
    );
  }
});
