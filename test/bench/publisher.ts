// The bench's upstream: a stand-in for the job API that emits fixed-size, time-stamped events on
// command, either on the job's SSE stream (to the gateway) or as POSTs to nchan's publisher.
import { Agent, type IncomingMessage, type ServerResponse, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serveIpc } from './ipc.ts';
import { benchEvent, initializedEvent } from './payload.ts';

const streams = new Map<string, ServerResponse>();
let streamsServed = 0;
let jobSerial = 0;
const runId = process.pid.toString(36);

function sseFrame(json: string): string {
  return `data: ${json}\n\n`;
}

function onRequest(req: IncomingMessage, res: ServerResponse): void {
  const create = /^\/v3\/midjourney\/jobs\/(\w+)$/.exec(req.url ?? '');
  if (req.method === 'POST' && create) {
    req.resume();
    req.on('end', () => {
      const jobId = `bench-${runId}-${jobSerial++}`;
      streamsServed++;
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
      res.write(sseFrame(initializedEvent(jobId)));
      res.write(sseFrame(benchEvent(jobId, 1, 200, 'midjourney_created')));
      streams.set(jobId, res);
      res.on('close', () => streams.delete(jobId));
    });
    return;
  }
  const job = /^\/v3\/midjourney\/jobs\/([^/]+)$/.exec(req.url ?? '');
  if (req.method === 'GET' && job) {
    const jobId = decodeURIComponent(job[1] ?? '');
    const open = streams.has(jobId);
    res.writeHead(open ? 200 : 404, { 'Content-Type': 'application/json' });
    res.end(open ? JSON.stringify({ jobid: jobId, verb: 'imagine', status: 'progress' }) : '{"error":"Job not found"}');
    return;
  }
  res.writeHead(404).end();
}

/** POSTs to nchan in flight at once: a round trip per event would otherwise bound nchan, not its fan-out. */
const NCHAN_WINDOW = 8;
const nchanAgent = new Agent({ keepAlive: true, maxSockets: NCHAN_WINDOW });

function postToNchan(url: string, body: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', agent: nchanAgent, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } },
      (res) => {
        res.resume();
        res.on('error', reject);
        res.on('end', () =>
          res.statusCode !== undefined && res.statusCode < 300 ? resolve() : reject(new Error(`nchan publish answered ${res.statusCode}`)),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
const sleepUntil = (at: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, at - performance.now())));

interface EmitCommand {
  /** Job ids (gateway streams) or channel ids (nchan). */
  targets: string[];
  /** nchan publisher URL prefix (`http://host:port/pub/`); absent = write on the job streams. */
  nchanPub?: string;
  firstSeq: number;
  /** Events per target. */
  count: number;
  /** Gap between rounds (one event to every target); 0 = back to back. */
  intervalMs: number;
  size: number;
  type?: string;
}

async function emit(command: EmitCommand): Promise<Record<string, unknown>> {
  const start = performance.now();
  let firstSentAt = 0;
  let sent = 0;
  const inFlight = new Set<Promise<void>>();
  for (let i = 0; i < command.count; i++) {
    if (command.intervalMs > 0) await sleepUntil(start + i * command.intervalMs);
    // A round's events exist at the same moment (jobs run side by side), then go out one by one.
    const round = command.targets.map((target) => [target, benchEvent(target, command.firstSeq + i, command.size, command.type)] as const);
    if (firstSentAt === 0) firstSentAt = performance.timeOrigin + performance.now();
    for (const [target, json] of round) {
      if (command.nchanPub) {
        const post: Promise<void> = postToNchan(command.nchanPub + encodeURIComponent(target), json).finally(() => inFlight.delete(post));
        inFlight.add(post);
        if (inFlight.size >= NCHAN_WINDOW) await Promise.race(inFlight);
      } else {
        const res = streams.get(target);
        if (!res) throw new Error(`no open upstream stream for ${target}`);
        res.write(sseFrame(json));
      }
      sent++;
    }
    if (command.intervalMs === 0 && !command.nchanPub) await tick();
  }
  await Promise.all(inFlight);
  return { sent, firstSentAt, lastSentAt: performance.timeOrigin + performance.now() };
}

/** Sends the terminal event on each job stream and closes it. */
function finish(targets: string[], seq: number): Record<string, unknown> {
  for (const target of targets) {
    const res = streams.get(target);
    if (!res) continue;
    res.end(sseFrame(benchEvent(target, seq, 200, 'midjourney_completed')));
    streams.delete(target);
  }
  return {};
}

const server = createServer(onRequest);
// A gateway stopped with its upstream streams open resets them: that ends the stream, not the bench.
server.on('clientError', (_err, socket) => socket.destroy());
server.on('connection', (socket) => socket.on('error', () => undefined));
server.keepAliveTimeout = 60_000;

serveIpc(async (message) => {
  switch (message.cmd) {
    case 'listen':
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return { port: (server.address() as AddressInfo).port };
    case 'emit':
      return emit(message as unknown as EmitCommand);
    case 'finish':
      return finish(message.targets as string[], message.seq as number);
    case 'stats':
      return { streamsServed, open: streams.size };
    default:
      throw new Error(`unknown command ${String(message.cmd)}`);
  }
});
