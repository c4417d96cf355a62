// `npm run bench`: fan-out figures of the gateway, side by side with nginx + nchan.
// BENCH_CASES=connect,dense,storm,storm-redis,dense-x4,lone,workers,worker,fanout-1k,fanout-5k,fanout-10k,
// redis,replay,mixed,capacity (default all); BENCH_QUICK=1 for a
// short run; BENCH_NCHAN=0 to skip the peer; BENCH_EVENTS, BENCH_PACED, BENCH_PACED_INTERVAL_MS,
// BENCH_EVENT_BYTES, BENCH_SUBSCRIBERS, BENCH_CLIENTS (client processes, 2), BENCH_TIMEOUT_S,
// BENCH_CPU_PROF=<dir> to profile the gateway (BENCH_CLIENT_PROF the clients), BENCH_STRACE=<dir> for
// `strace -c -f` syscall counts of every server over the measured phases; BENCH_NODE_FLAGS (space-
// separated) for the gateway's node, e.g. `--no-opt` (docs/performance.md: tried, not adopted).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type BenchContext, CASES } from './cases.ts';
import { clientPool } from './client-pool.ts';
import { ipcPeer } from './ipc.ts';
import { type Nchan, nchanMissing, startNchan } from './nchan.ts';
import { killAllNow, startProcess, stopAll } from './procs.ts';
import { type Row, markdown } from './report.ts';

const env = process.env;
const quick = env.BENCH_QUICK === '1';
const int = (name: string, fallback: number) => {
  const value = Number(env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer`);
  return value;
};
const selected = (env.BENCH_CASES ?? Object.keys(CASES).join(','))
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const unknown = selected.filter((name) => !(name in CASES));
if (unknown.length > 0) throw new Error(`unknown BENCH_CASES ${unknown.join(', ')}; known: ${Object.keys(CASES).join(', ')}`);

const root = fileURLToPath(new URL('../..', import.meta.url));
const timeoutS = int('BENCH_TIMEOUT_S', 2400);
const deadline = setTimeout(() => {
  console.error(`bench: over ${timeoutS} s, stopping everything it started`);
  killAllNow();
  process.exit(3);
}, timeoutS * 1000);
process.on('exit', killAllNow);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAllNow();
    process.exit(130);
  });
}

async function main(): Promise<void> {
  const tsx = ['--import', 'tsx'];
  const publisherProc = startProcess('publisher', process.execPath, [...tsx, 'test/bench/publisher.ts'], { ipc: true, cwd: root });
  // 72,000 connections need four client processes (each holds at most 20,000 open files).
  const clientCount = int('BENCH_CLIENTS', selected.includes('dense-x4') ? 4 : 2);
  const clients = Array.from({ length: Math.max(1, clientCount) }, (_, k) => {
    const prof = env.BENCH_CLIENT_PROF ? ['--cpu-prof', `--cpu-prof-dir=${env.BENCH_CLIENT_PROF}`] : [];
    return ipcPeer(
      startProcess(`client-${k}`, process.execPath, [...prof, ...tsx, 'test/bench/client.ts'], { ipc: true, cwd: root }).child,
      `client-${k}`,
    );
  });
  const publisher = ipcPeer(publisherProc.child, 'publisher');
  const client = clientPool(clients);
  const { port: publisherPort } = await publisher.call<{ port: number }>({ cmd: 'listen' }, 30_000);

  let nchan: Nchan | undefined;
  const missing = env.BENCH_NCHAN === '0' ? 'disabled by BENCH_NCHAN=0' : nchanMissing();
  if (missing) console.error(`bench: nchan comparison skipped: ${missing} (apt-get install nginx-light libnginx-mod-nchan)`);
  else nchan = await startNchan();

  // The gateway as deployed (deploy/Dockerfile: `node dist/main.js`), built now from this checkout;
  // BENCH_GATEWAY=tsx runs the sources as `npm start` does (through tsx's loader).
  const fromSources = env.BENCH_GATEWAY === 'tsx';
  if (!fromSources) execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  const ctx: BenchContext = {
    root,
    gatewayArgs: [
      ...(env.BENCH_NODE_FLAGS ? env.BENCH_NODE_FLAGS.split(' ') : []),
      ...(fromSources ? ['--import', 'tsx', 'src/node/main.ts'] : ['dist/main.js']),
    ],
    publisher,
    client,
    publisherPort,
    nchan,
    events: int('BENCH_EVENTS', quick ? 50 : 200),
    paced: int('BENCH_PACED', quick ? 8 : 16),
    pacedIntervalMs: int('BENCH_PACED_INTERVAL_MS', 250),
    eventBytes: int('BENCH_EVENT_BYTES', 600),
    quick,
    cpuProfDir: env.BENCH_CPU_PROF || undefined,
    straceDir: env.BENCH_STRACE || undefined,
    subscribersOverride: env.BENCH_SUBSCRIBERS ? int('BENCH_SUBSCRIBERS', 0) : undefined,
  };
  console.error(
    `bench: cases ${selected.join(', ')}; ${ctx.events} burst + ${ctx.paced} paced events of ${ctx.eventBytes} B; ${clients.length} client processes; nchan ${nchan ? 'on' : 'off'}; gateway: node ${ctx.gatewayArgs.join(' ')}`,
  );
  const rows: Row[] = [];
  try {
    for (const name of selected) {
      const started = Date.now();
      const caseRows = await CASES[name]!(ctx);
      for (const row of caseRows) {
        rows.push(row);
        console.log(JSON.stringify(row));
      }
      // Named as measured (BENCH_QUICK and BENCH_SUBSCRIBERS change the size, so the key may not say it).
      const measured = [...new Set(caseRows.map((row) => `${row.case} (${row.subscribers} subscribers)`))].join(', ');
      console.error(`bench: ${measured || name} done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
  } finally {
    await nchan?.stop();
    await stopAll();
  }
  console.log(`\n${markdown(rows)}`);
}

main().then(
  () => {
    clearTimeout(deadline);
    process.exit(0);
  },
  (err: unknown) => {
    console.error('bench failed:', err instanceof Error ? (err.stack ?? err.message) : err);
    killAllNow();
    process.exit(1);
  },
);
