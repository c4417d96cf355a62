// `npm run capacity -- --viewers N --jobs J --events-per-s E …`: how many gateway pods and Redis
// shards serve a load, with random load balancing and with affinity by job id, and what the
// Cloudflare Worker would cost for it; every figure printed with its arithmetic. The per-unit costs
// are the ones measured with `npm run bench` (docs/operations/capacity.md says how and where).
import { parseArgs } from 'node:util';

/** Per-unit costs measured here (docs/operations/capacity.md, "The figures"). */
export const MEASURED = {
  /** Gateway CPU per delivery (one event to one subscriber), lone events to 10-50 subscribers per job and pod, µs. */
  cpuUsPerDelivery: 6,
  /** Gateway CPU per event on the pod following the job: read, parse, append to Redis, publish, µs. */
  cpuUsIngestPerEvent: 130,
  /** Gateway CPU per event on each pod with subscribers of the job: receive it from Redis, frame it once, µs. */
  cpuUsReceivePerEvent: 60,
  /** Gateway CPU per new subscriber: accept, route, token check, subscribe, replay of a short history, µs. */
  cpuUsPerConnect: 500,
  /** Gateway memory per open stream, KiB. */
  kibPerSubscriber: 10,
  /** Gateway memory per followed job (upstream connection, follower, hub), KiB. */
  kibPerJob: 110,
  /** An idle gateway's resident memory, MiB. */
  baseMiB: 160,
  /** Redis CPU per event appended alone (no batching) and published to one pod, µs. */
  redisCpuUsPerEvent: 36,
  /** Redis CPU per further pod an event is published to (pub/sub to 1 and to 20 subscribers), µs. */
  redisCpuUsPerPubsubDelivery: 0.63,
  /** The event size these byte figures were measured with. */
  eventBytes: 600,
  /** Bytes into Redis per event (the append script's call), and out per pod it is published to. */
  redisBytesInPerEvent: 1500,
  redisBytesOutPerPubsubDelivery: 700,
  /** Redis memory per stored event and per job (its meta hash and stream), bytes. */
  redisBytesPerEvent: 650,
  redisBytesPerJob: 5400,
  /** Durable Object storage per lone event (docs/performance.md, worker-do): SQL rows written and read. */
  doRowsWrittenPerEvent: 2.67,
  doRowsReadPerEvent: 5.68,
} as const;

/** Cloudflare's Workers Paid prices used for the Worker's cost (read 2026-12-07, see the capacity guide). */
export const PRICES = {
  basePerMonth: 5,
  workerRequestsIncluded: 10e6,
  workerPerMillionRequests: 0.3,
  doRequestsIncluded: 1e6,
  doPerMillionRequests: 0.15,
  doGbSecondsIncluded: 400_000,
  doPerMillionGbSeconds: 12.5,
  /** A Durable Object is billed as 128 MB while awake. */
  doGb: 0.128,
  rowsReadIncluded: 25e9,
  perMillionRowsRead: 0.001,
  rowsWrittenIncluded: 50e6,
  perMillionRowsWritten: 1,
  storageGbIncluded: 5,
  perGbMonth: 0.2,
} as const;

const SECONDS_PER_MONTH = 30 * 86_400;
/** How long a job's object stays awake after its terminal event (the Worker's IDLE_AFTER_TERMINAL_MS). */
const DO_IDLE_AFTER_TERMINAL_S = 60;

/** An operator's load and budgets. */
export interface CapacityInput {
  /** Concurrent SSE subscribers, each watching one job. */
  viewers: number;
  /** Jobs running at once. */
  jobs: number;
  /** Events per second of each job. */
  eventsPerS: number;
  /** Bytes of an event's JSON (the figures were measured with 600). */
  eventBytes: number;
  /** How long a job runs, s (each viewer joins once per job). */
  jobSeconds: number;
  /** Open streams per pod the autoscaler aims at (deploy/k8s: 5,000). */
  subscribersPerPod: number;
  /** Cores per pod and the share of them a pod may use. */
  coresPerPod: number;
  cpuTarget: number;
  /** How long histories stay in Redis after their job (HISTORY_TTL_S). */
  historyTtlS: number;
  /** Share of one core a Redis shard may use, its memory budget (GiB) and its outbound budget (MB/s). */
  shardCpu: number;
  shardMemoryGb: number;
  shardOutMbps: number;
}

export const DEFAULTS: Omit<CapacityInput, 'viewers' | 'jobs' | 'eventsPerS'> = {
  eventBytes: 600,
  jobSeconds: 60,
  subscribersPerPod: 5000,
  coresPerPod: 1,
  cpuTarget: 0.7,
  historyTtlS: 86_400,
  shardCpu: 0.5,
  shardMemoryGb: 8,
  shardOutMbps: 100,
};

/** One way of balancing viewers over the pods, sized. */
export interface Balancing {
  name: 'random' | 'affinity';
  pods: number;
  /** Pods each event is published to by Redis (pods holding subscribers of its job). */
  podsPerEvent: number;
  coresTotal: number;
  memoryMiBPerPod: number;
  redisShards: number;
  redisCores: number;
  redisOutMBps: number;
  lines: string[];
}

export interface Plan {
  input: CapacityInput;
  eventsPerS: number;
  deliveriesPerS: number;
  joinsPerS: number;
  redisMemoryGiB: number;
  random: Balancing;
  affinity: Balancing;
  worker: { perMonth: number; lines: string[] };
  lines: string[];
}

const n = (value: number, digits = 0) => value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const usd = (value: number) => `$${n(value, 2)}`;

/** Pods a job's event reaches: with `perJob` viewers spread at random over `pods` pods, the expected number holding at least one. */
export function podsReached(perJob: number, pods: number, balancing: 'random' | 'affinity'): number {
  if (perJob <= 0) return 0;
  if (balancing === 'affinity' || pods === 1) return 1;
  return pods * (1 - (1 - 1 / pods) ** perJob);
}

/** The plan for one load: pods, shards and the Worker's cost, each with the arithmetic behind it. */
export function plan(partial: Pick<CapacityInput, 'viewers' | 'jobs' | 'eventsPerS'> & Partial<CapacityInput>): Plan {
  const input: CapacityInput = { ...DEFAULTS, ...partial };
  for (const [key, value] of Object.entries(input)) {
    if (!Number.isFinite(value) || value < 0) throw new Error(`--${kebab(key)} must be a non-negative number (got ${value})`);
  }
  const positive = [
    'jobs',
    'subscribersPerPod',
    'jobSeconds',
    'coresPerPod',
    'cpuTarget',
    'shardCpu',
    'shardMemoryGb',
    'shardOutMbps',
  ] as const;
  if (positive.some((key) => input[key] === 0)) {
    throw new Error(
      '--jobs, --subscribers-per-pod, --job-seconds, --cores-per-pod, --cpu-target and the --shard-* budgets must be above 0',
    );
  }
  const m = MEASURED;
  // Byte figures move with the event's size: the payload is in each of them once (twice into Redis: event and snapshot).
  const extra = input.eventBytes - m.eventBytes;
  const bytesPerEvent = m.redisBytesPerEvent + extra;
  const bytesInPerEvent = m.redisBytesInPerEvent + 2 * extra;
  const bytesOutPerDelivery = m.redisBytesOutPerPubsubDelivery + extra;
  const eventsPerS = input.jobs * input.eventsPerS;
  const deliveriesPerS = input.viewers * input.eventsPerS;
  const joinsPerS = input.viewers / input.jobSeconds;
  const perJob = input.viewers / input.jobs;
  const storedEvents = eventsPerS * input.historyTtlS;
  const storedJobs = (input.jobs / input.jobSeconds) * input.historyTtlS;
  const redisMemoryGiB = (storedEvents * bytesPerEvent + storedJobs * m.redisBytesPerJob) / 2 ** 30;
  const lines = [
    `load: ${n(input.viewers)} viewers on ${n(input.jobs)} jobs (${n(perJob, 1)} per job), ${n(input.eventsPerS, 2)} events/s per job`,
    `  events      = ${n(input.jobs)} jobs × ${n(input.eventsPerS, 2)}/s = ${n(eventsPerS)}/s`,
    `  deliveries  = ${n(input.viewers)} viewers × ${n(input.eventsPerS, 2)}/s = ${n(deliveriesPerS)}/s`,
    `  new streams = ${n(input.viewers)} viewers ÷ ${n(input.jobSeconds)} s per job = ${n(joinsPerS)}/s`,
    `  Redis calls = ${n(eventsPerS)}/s (one append script per event: HMGET, XADD, 2 HSET, PEXPIRE, PUBLISH inside; fewer when a job's events batch)`,
    `  Redis memory = ${n(eventsPerS)} events/s × ${n(input.historyTtlS)} s kept × ${n(bytesPerEvent)} B + ${n(storedJobs)} jobs kept × ${n(m.redisBytesPerJob)} B = ${n(redisMemoryGiB, 1)} GiB`,
  ];
  const size = (name: 'random' | 'affinity'): Balancing => {
    let pods = Math.max(1, Math.ceil(input.viewers / input.subscribersPerPod));
    const cores = (p: number) => {
      const reach = podsReached(perJob, p, name);
      return (
        (deliveriesPerS * m.cpuUsPerDelivery +
          eventsPerS * m.cpuUsIngestPerEvent +
          eventsPerS * reach * m.cpuUsReceivePerEvent +
          joinsPerS * m.cpuUsPerConnect) /
        1e6
      );
    };
    // More pods may mean more pods per event (random balancing): grow until the CPU fits.
    while (cores(pods) > pods * input.coresPerPod * input.cpuTarget) pods++;
    const reach = podsReached(perJob, pods, name);
    const coresTotal = cores(pods);
    const memoryMiBPerPod = m.baseMiB + ((input.viewers / pods) * m.kibPerSubscriber + (input.jobs / pods) * m.kibPerJob) / 1024;
    const redisCores = (eventsPerS * (m.redisCpuUsPerEvent + Math.max(0, reach - 1) * m.redisCpuUsPerPubsubDelivery)) / 1e6;
    const redisInMBps = (eventsPerS * bytesInPerEvent) / 1e6;
    const redisOutMBps = (eventsPerS * reach * bytesOutPerDelivery) / 1e6;
    const redisShards = Math.max(
      1,
      Math.ceil(redisCores / input.shardCpu),
      Math.ceil(redisMemoryGiB / input.shardMemoryGb),
      Math.ceil(redisOutMBps / input.shardOutMbps),
    );
    const reachText =
      name === 'random'
        ? `${n(pods)} × (1 − (1 − 1/${n(pods)})^${n(perJob, 1)}) = ${n(reach, 2)}`
        : '1 (every viewer of a job on the same pod)';
    return {
      name,
      pods,
      podsPerEvent: reach,
      coresTotal,
      memoryMiBPerPod,
      redisShards,
      redisCores,
      redisOutMBps,
      lines: [
        `${name === 'random' ? 'random load balancing' : 'affinity by job id'}:`,
        `  pods per event = ${reachText}`,
        `  gateway CPU = (${n(deliveriesPerS)} × ${m.cpuUsPerDelivery} µs + ${n(eventsPerS)} × ${m.cpuUsIngestPerEvent} µs + ${n(eventsPerS)} × ${n(reach, 2)} × ${m.cpuUsReceivePerEvent} µs + ${n(joinsPerS)} × ${m.cpuUsPerConnect} µs) = ${n(coresTotal, 2)} cores`,
        `  pods = max(${n(input.viewers)} ÷ ${n(input.subscribersPerPod)} per pod, ${n(coresTotal, 2)} cores ÷ (${input.coresPerPod} × ${input.cpuTarget})) = ${n(pods)}`,
        `  memory per pod = ${m.baseMiB} MiB + ${n(input.viewers / pods)} streams × ${m.kibPerSubscriber} KiB + ${n(input.jobs / pods, 1)} jobs × ${m.kibPerJob} KiB = ${n(memoryMiBPerPod)} MiB`,
        `  Redis CPU = ${n(eventsPerS)} × (${m.redisCpuUsPerEvent} + ${n(Math.max(0, reach - 1), 2)} × ${m.redisCpuUsPerPubsubDelivery}) µs = ${n(redisCores, 2)} cores; in ${n(eventsPerS)} × ${n(bytesInPerEvent)} B = ${n(redisInMBps, 1)} MB/s, out ${n(eventsPerS)} × ${n(reach, 2)} × ${n(bytesOutPerDelivery)} B = ${n(redisOutMBps, 1)} MB/s`,
        `  Redis shards = max(${n(redisCores, 2)} ÷ ${input.shardCpu} core, ${n(redisMemoryGiB, 1)} ÷ ${input.shardMemoryGb} GiB, ${n(redisOutMBps, 1)} ÷ ${input.shardOutMbps} MB/s) = ${n(redisShards)}`,
      ],
    };
  };
  return {
    input,
    eventsPerS,
    deliveriesPerS,
    joinsPerS,
    redisMemoryGiB,
    random: size('random'),
    affinity: size('affinity'),
    worker: workerCost(input, eventsPerS, joinsPerS, storedEvents),
    lines,
  };
}

/** The Worker's monthly bill at this load: each job one Durable Object, awake while its streams are open. */
function workerCost(input: CapacityInput, eventsPerS: number, joinsPerS: number, storedEvents: number): Plan['worker'] {
  const p = PRICES;
  const m = MEASURED;
  const creates = (input.jobs / input.jobSeconds) * SECONDS_PER_MONTH;
  const joins = joinsPerS * SECONDS_PER_MONTH;
  const awake = input.jobs * ((input.jobSeconds + DO_IDLE_AFTER_TERMINAL_S) / input.jobSeconds);
  const gbSeconds = awake * p.doGb * SECONDS_PER_MONTH;
  // A create: the Worker's request, the starter object's, the job object's (follow) and its two alarms
  // (deadline, history expiry); a join: the Worker's request and the job object's.
  const workerRequests = creates + joins;
  const doRequests = 4 * creates + joins;
  const events = eventsPerS * SECONDS_PER_MONTH;
  const rowsWritten = events * m.doRowsWrittenPerEvent;
  const rowsRead = events * m.doRowsReadPerEvent;
  // Stored payload only (SQLite's own overhead per row was not measured).
  const storageGb = (storedEvents * input.eventBytes) / 1e9;
  const over = (used: number, included: number, perMillion: number) => (Math.max(0, used - included) / 1e6) * perMillion;
  const parts: [string, number][] = [
    ['Workers Paid plan', p.basePerMonth],
    [`Worker requests ${n(workerRequests / 1e6, 1)} M`, over(workerRequests, p.workerRequestsIncluded, p.workerPerMillionRequests)],
    [`DO requests ${n(doRequests / 1e6, 1)} M`, over(doRequests, p.doRequestsIncluded, p.doPerMillionRequests)],
    [
      `DO duration ${n(awake)} objects awake × ${p.doGb} GB × ${n(SECONDS_PER_MONTH)} s = ${n(gbSeconds / 1e6, 1)} M GB-s`,
      over(gbSeconds, p.doGbSecondsIncluded, p.doPerMillionGbSeconds),
    ],
    [
      `rows written ${n(events / 1e6, 1)} M events × ${m.doRowsWrittenPerEvent} = ${n(rowsWritten / 1e6, 1)} M`,
      over(rowsWritten, p.rowsWrittenIncluded, p.perMillionRowsWritten),
    ],
    [`rows read ${n(rowsRead / 1e6, 1)} M`, over(rowsRead, p.rowsReadIncluded, p.perMillionRowsRead)],
    [
      `storage ${n(storedEvents / 1e6, 1)} M events kept × ${input.eventBytes} B = ${n(storageGb, 1)} GB`,
      Math.max(0, storageGb - p.storageGbIncluded) * p.perGbMonth,
    ],
  ];
  const perMonth = parts.reduce((sum, [, cost]) => sum + cost, 0);
  return {
    perMonth,
    lines: [
      'Cloudflare Worker (one Durable Object per job), per 30-day month:',
      ...parts.map(([what, cost]) => `  ${what}: ${usd(cost)}`),
      `  total ${usd(perMonth)} (Workers CPU time not included: not measured)`,
    ],
  };
}

/** The plan as printed: the load, then each balancing, then the Worker. */
export function formatPlan(result: Plan): string {
  return [...result.lines, ...result.random.lines, ...result.affinity.lines, ...result.worker.lines].join('\n');
}

const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const camel = (name: string) => name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** Reads `--name value` options into a plan's input; throws on unknown or non-numeric ones. */
export function parseCapacityArgs(argv: string[]): Parameters<typeof plan>[0] {
  const names = ['viewers', 'jobs', 'eventsPerS', ...Object.keys(DEFAULTS)];
  const { values } = parseArgs({
    args: argv,
    options: Object.fromEntries(names.map((name) => [kebab(name), { type: 'string' as const }])),
    strict: true,
  });
  const input: Record<string, number> = {};
  for (const [key, text] of Object.entries(values)) {
    const value = Number(text);
    if (typeof text !== 'string' || text.trim() === '' || !Number.isFinite(value)) throw new Error(`--${key} must be a number`);
    input[camel(key)] = value;
  }
  for (const required of ['viewers', 'jobs', 'eventsPerS']) {
    if (!(required in input)) throw new Error(`--${kebab(required)} is required`);
  }
  return input as Parameters<typeof plan>[0];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    console.log(formatPlan(plan(parseCapacityArgs(process.argv.slice(2)))));
  } catch (err) {
    console.error(`capacity: ${err instanceof Error ? err.message : String(err)}`);
    console.error(
      `usage: npm run capacity -- --viewers N --jobs J --events-per-s E [${Object.keys(DEFAULTS)
        .map((k) => `--${kebab(k)} X`)
        .join(' ')}]`,
    );
    process.exit(2);
  }
}
