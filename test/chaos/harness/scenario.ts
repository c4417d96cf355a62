import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { type History, checkSubscriber, checkText, referenceHistory } from './checks.ts';
import { type Cluster, startCluster, startSimulatorUpstream, storedEvents } from './cluster.ts';
import { runEventSourceSubscriber } from './eventsource-subscriber.ts';
import { startHostileUpstream } from './hostile-upstream.ts';
import { type RawSubscriberOptions, runRawSubscriber } from './raw-subscriber.ts';
import { type SubscriberRecord, newRecord } from './record.ts';
import { sleep, until } from '../../support/until.ts';

/** What a scenario's fault and checks can reach. */
export interface ScenarioContext {
  cluster: Cluster;
  jobId: string;
  token: string;
  /** The upstream's base URL. */
  upstreamUrl: string;
  /** Resolves once some subscriber has received `n` events (or after a generous wait). */
  eventsSeen(n: number): Promise<void>;
  /** `GET /jobs/:id` polls the upstream has answered for the job so far. */
  upstreamPolls(): number;
  /** Adds a scenario-specific problem to the report. */
  problem(what: string): void;
}

export interface Scenario {
  upstream: 'simulator' | 'hostile';
  /** The job's prompt: `--sim-*` directives for the simulator, `chaos:<behaviour>` for the hostile one. */
  prompt: string;
  /** Gateway processes (at least 2). */
  instances?: number;
  /** Subscribers to the job (at least 50), spread over the instances. */
  subscribers?: number;
  /** When the late half joins: while the job runs (default, after its 3rd event), or once the fault is over. */
  lateJoin?: 'during' | 'after-fault';
  /** Early subscribers keep off the last instance, and late joiners connect there first: a cold instance (no hub, no cache). */
  coldInstance?: boolean;
  /** Extra gateway environment. */
  env?: Record<string, string>;
  /** How subscriber `i` reads (slow, stalled, reconnecting); default: every 7th drops once after 2 events. */
  reader?(i: number): Partial<Pick<RawSubscriberOptions, 'readDelayMs' | 'stallMs' | 'reconnectAfter'>>;
  /** The fault, run while the subscribers watch the job. */
  fault?(ctx: ScenarioContext): Promise<void>;
  /** Checks beyond the per-subscriber ones. */
  verify?(ctx: ScenarioContext, records: SubscriberRecord[], history: History): Promise<void>;
}

/** How long a subscriber may take to see its job end, whatever the fault. */
const SUBSCRIBER_DEADLINE_MS = 30_000;
/** Every 10th subscriber is the `eventsource` package; the rest the light raw client. */
const EVENTSOURCE_EVERY = 10;

const defaultReader = (i: number) => (i % 7 === 3 ? { reconnectAfter: 2 } : {});

/**
 * Runs one chaos scenario end to end: a fresh redis-server, the gateways, the upstream, a job
 * created on the first gateway, subscribers (half at once, half as late joiners), the fault,
 * then every check; fails with the list of problems found.
 */
export async function runScenario(scenario: Scenario): Promise<void> {
  const token = `ChaosCanary-${randomBytes(12).toString('hex')}`;
  const upstream = scenario.upstream === 'simulator' ? await startSimulatorUpstream(token) : await startHostileUpstream({ token });
  const problems: string[] = [];
  let cluster: Cluster | undefined;
  let done = false;
  try {
    cluster = await startCluster({ instances: scenario.instances ?? 2, upstreamUrl: upstream.url, token, env: scenario.env });
    const gateways = cluster.gateways;
    const created = await fetch(`${gateways[0]?.url}/v3/midjourney/jobs/imagine`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ prompt: scenario.prompt, stream: false }),
    });
    const createdText = await created.text();
    problems.push(...checkText('stream:false create reply', createdText, [token]));
    expect(created.status, createdText).toBe(201);
    const jobId = (JSON.parse(createdText) as { jobid: string }).jobid;

    const records: SubscriberRecord[] = [];
    const ctx: ScenarioContext = {
      cluster,
      jobId,
      token,
      upstreamUrl: upstream.url,
      upstreamPolls: () => upstream.polls(jobId),
      async eventsSeen(n) {
        // Gives up quietly: the scenario's verdict reports what the subscribers missed.
        await until(() => records.some((r) => r.events.length >= n), { timeoutMs: SUBSCRIBER_DEADLINE_MS, intervalMs: 10 }).catch(
          () => false,
        );
      },
      problem: (what) => void problems.push(what),
    };
    const live = cluster;
    const path = `/v3/midjourney/jobs/${encodeURIComponent(jobId)}/stream`;
    const cold = scenario.coldInstance ? gateways.at(-1) : undefined;
    // A load balancer with health checks: each (re)connect goes to the next instance still up.
    const urlFor = (i: number, late: boolean) => (attempt: number) => {
      const up = live.alive();
      if (late && attempt === 0 && cold && up.includes(cold)) return `${cold.url}${path}`;
      const pool = !late && up.length > 1 ? up.filter((g) => g !== cold) : up;
      return `${pool[(i + attempt) % pool.length]?.url}${path}`;
    };
    const start = (i: number, late = false): Promise<SubscriberRecord> => {
      const record = newRecord(`subscriber ${i}`);
      records.push(record);
      const common = { record, urlFor: urlFor(i, late), deadlineMs: SUBSCRIBER_DEADLINE_MS, stopped: () => done };
      const running =
        i % EVENTSOURCE_EVERY === 0
          ? runEventSourceSubscriber(common)
          : runRawSubscriber({ ...common, ...(scenario.reader ?? defaultReader)(i) });
      return running;
    };
    const count = scenario.subscribers ?? 50;
    const early = Array.from({ length: Math.ceil(count / 2) }, (_, i) => start(i));
    const fault = scenario.fault?.(ctx) ?? Promise.resolve();
    const late = (async () => {
      await (scenario.lateJoin === 'after-fault' ? fault : ctx.eventsSeen(3));
      const joined: Promise<SubscriberRecord>[] = [];
      for (let i = Math.ceil(count / 2); i < count; i++) {
        joined.push(start(i, true));
        await sleep(40);
      }
      return Promise.all(joined);
    })();
    await Promise.all(early);
    await late;
    await fault;
    done = true;

    const history = referenceHistory(await storedEvents(cluster.raw, jobId), records, problems);
    for (const record of records) problems.push(...checkSubscriber(record, history, [token]));
    for (const gateway of cluster.alive()) {
      const health = await fetch(`${gateway.url}/healthz`).then((r) => r.status, String);
      if (health !== 200) problems.push(`${gateway.name}: /healthz answered ${health} after the scenario`);
      const job = await fetch(`${gateway.url}/v3/midjourney/jobs/${encodeURIComponent(jobId)}`).then((r) => r.text(), String);
      problems.push(...checkText(`GET /jobs/:id on ${gateway.name}`, job, [token]));
      const list = await fetch(`${gateway.url}/v3/midjourney/jobs`).then((r) => r.text(), String);
      problems.push(...checkText(`GET /jobs on ${gateway.name}`, list, [token]));
    }
    await scenario.verify?.(ctx, records, history);
    problems.push(...checkText('gateway logs', cluster.output(), [token]));
  } finally {
    done = true;
    await cluster?.close();
    await upstream.close();
  }
  expect(summarize(problems)).toEqual([]);
}

/** The problems, one line per kind: "subscriber 3: x" and "subscriber 9: x" become "x (2 subscribers: 3, 9)". */
export function summarize(problems: string[]): string[] {
  const groups = new Map<string, string[]>();
  for (const problem of problems) {
    const match = /^subscriber (\d+): (.*)$/.exec(problem);
    const key = match ? (match[2] as string).replace(/\d+ events|\d+ connections/g, (m) => m.replace(/\d+/, 'n')) : problem;
    groups.set(key, [...(groups.get(key) ?? []), ...(match ? [match[1] as string] : [])]);
  }
  return [...groups].map(([what, who]) =>
    who.length === 0
      ? what
      : `${what} (${who.length} subscriber${who.length > 1 ? 's' : ''}: ${who.slice(0, 8).join(', ')}${who.length > 8 ? '…' : ''})`,
  );
}

/** The last event a subscriber got, parsed. */
export function lastEvent(record: SubscriberRecord): { seq: number; event?: string; job?: { response?: { content?: string } } } {
  const last = record.events.at(-1);
  return last ? { seq: last.seq, ...(JSON.parse(last.data) as object) } : { seq: -1 };
}
