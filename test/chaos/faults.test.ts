import { describe, it } from 'vitest';
import { runScenario } from './harness/scenario.ts';
import { sleep } from '../support/until.ts';

// Real gateway processes on a real redis-server in front of the real simulator, while the
// network, the owner of the job, Redis and the subscribers misbehave. Each scenario: 50
// subscribers over 2 instances, checked one by one (see harness/checks.ts).

const JOB = '--sim-steps 14 --sim-interval 150';
const TIMEOUT = 90_000;

describe('chaos: faults around a well-behaved upstream', () => {
  it(
    'upstream drops the stream mid-job: the owner polls, nobody loses an event',
    () =>
      runScenario({
        upstream: 'simulator',
        prompt: `drop ${JOB} --sim-drop-after 6`,
      }),
    TIMEOUT,
  );

  it(
    'owner SIGKILLed mid-job: another instance takes over, subscribers resume there',
    () =>
      runScenario({
        upstream: 'simulator',
        prompt: `kill ${JOB}`,
        async fault(ctx) {
          await ctx.eventsSeen(5);
          await ctx.cluster.stop(ctx.cluster.gateways[0]!, 'SIGKILL');
        },
      }),
    TIMEOUT,
  );

  it(
    'owner SIGTERMed (drain) mid-job: streams end, clients come back elsewhere, the job goes on',
    () =>
      runScenario({
        upstream: 'simulator',
        prompt: `drain ${JOB}`,
        env: { LOG_LEVEL: 'info', DRAIN_MS: '1500' },
        async verify(ctx) {
          if (!/drain/i.test(ctx.cluster.gateways[0]?.output() ?? '')) ctx.problem('the drained instance did not log its drain');
        },
        async fault(ctx) {
          await ctx.eventsSeen(5);
          await ctx.cluster.stop(ctx.cluster.gateways[0]!, 'SIGTERM');
        },
      }),
    TIMEOUT,
  );

  it(
    'Redis restarts empty mid-job: no silent hole for anyone, late joiners included',
    () =>
      runScenario({
        upstream: 'simulator',
        prompt: `redis restart ${JOB}`,
        instances: 3,
        coldInstance: true,
        lateJoin: 'after-fault',
        async fault(ctx) {
          await ctx.eventsSeen(5);
          await ctx.cluster.redis.stop();
          await sleep(500); // the fault: Redis down for half a second
          await ctx.cluster.redis.start();
        },
      }),
    TIMEOUT,
  );

  it(
    'Redis paused (SIGSTOP) past the lease, then resumed: one follower, nothing lost',
    () =>
      runScenario({
        upstream: 'simulator',
        prompt: `redis pause ${JOB}`,
        async verify(ctx) {
          // The owner kept its upstream stream throughout: a second follower would poll on every interval.
          const polls = ctx.upstreamPolls();
          if (polls > 3) ctx.problem(`the upstream was polled ${polls} times for a job whose stream never broke (two followers)`);
        },
        async fault(ctx) {
          await ctx.eventsSeen(5);
          ctx.cluster.redis.pause();
          await sleep(2500); // the fault: Redis frozen past the lease
          ctx.cluster.redis.resume();
        },
      }),
    TIMEOUT,
  );

  it(
    'slow and stalled consumers get everything, in order (or resume after being cut off)',
    () =>
      runScenario({
        upstream: 'simulator',
        prompt: `slow --sim-steps 60 --sim-interval 20`,
        reader: (i) => (i % 3 === 0 ? { readDelayMs: 40 } : i % 3 === 1 ? { stallMs: 2000 } : {}),
      }),
    TIMEOUT,
  );
});
