import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sleep } from '../../support/until.ts';

/**
 * A fake job API that misbehaves on request. The prompt names the behaviour (`chaos:<name>`);
 * the job otherwise looks like the vendor's: initialized, created, started, progress, completed,
 * one event every `intervalMs`, then the stream ends. `GET /jobs/:id` answers the latest status
 * (what the gateway polls after a stream is lost).
 */
export type Behaviour =
  | 'normal'
  | 'stray-terminal'
  | 'huge-seq'
  | 'quiet'
  | 'html-200'
  | 'echo-json-escaped'
  | 'echo-base64'
  | 'echo-percent'
  | 'echo-hex';

export interface HostileUpstream {
  /** Base URL, as UPSTREAM_URL. */
  url: string;
  /** Method and path of every request, in order. */
  requests: { method: string; path: string }[];
  /** `GET /jobs/:id` requests for the job. */
  polls(jobId: string): number;
  close(): Promise<void>;
}

interface HostileJob {
  jobid: string;
  status: string;
  progress: number;
  updated: string;
  /** Extra job fields (the echoed token), as raw JSON text so escapes survive. */
  extraJson: string;
}

/** Progress events per job. */
const PROGRESS_STEPS = 10;
/** After a quiet stream, the job completes upstream this long later (seen by polling). */
const QUIET_COMPLETES_AFTER_MS = 1000;

const hex4 = (code: number) => code.toString(16).padStart(4, '0');

/** The token, echoed in the form the behaviour asks for, as raw JSON members. */
function echoJson(behaviour: Behaviour, token: string): string {
  const bytes = Buffer.from(token, 'utf8');
  switch (behaviour) {
    case 'echo-json-escaped': {
      const escaped = [...token].map((c) => `\\u${hex4(c.charCodeAt(0))}`).join('');
      const slashed = `Bearer\\/${token.replace(/\//g, '\\/')}`;
      return `,"errorDetails":"Authorization: Bearer ${escaped}","note":"${slashed}"`;
    }
    case 'echo-base64':
      return `,"errorDetails":"${Buffer.from(`Bearer ${token}`).toString('base64')}","basic":"Basic ${Buffer.from(`user:${token}`).toString('base64')}"`;
    case 'echo-percent':
      return `,"errorDetails":"${[...bytes].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('')}"`;
    case 'echo-hex':
      return `,"errorDetails":"${bytes.toString('hex')}"`;
    default:
      return '';
  }
}

function jobJson(job: HostileJob): string {
  return `{"jobid":"${job.jobid}","verb":"imagine","jobType":"image","status":"${job.status}","updated":"${job.updated}","response":{"progress_percent":${job.progress}}${job.extraJson}}`;
}

const ts = () => new Date().toISOString().slice(11, 23);
function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.on('data', (chunk: Buffer) => void (body += chunk.toString()));
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

function json(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(body);
}

export async function startHostileUpstream(options: { token: string; intervalMs?: number }): Promise<HostileUpstream> {
  const interval = options.intervalMs ?? 150;
  const jobs = new Map<string, HostileJob>();
  const requests: HostileUpstream['requests'] = [];
  const open = new Set<ServerResponse>();
  let serial = 0;
  let closed = false;

  async function stream(res: ServerResponse, job: HostileJob, behaviour: Behaviour): Promise<void> {
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
    open.add(res);
    res.on('close', () => open.delete(res));
    const send = (seq: number, event: string, withJob = true) => {
      job.updated = new Date().toISOString();
      const payload = withJob
        ? `{"event":"${event}","job":${jobJson(job)},"seq":${seq},"ts":"${ts()}"}`
        : `{"event":"${event}","message":"Stream initialized","jobId":"${job.jobid}","seq":${seq},"ts":"${ts()}"}`;
      if (!res.destroyed) res.write(`data: ${payload}\n\n`);
    };
    let seq = 0;
    send(seq++, 'initialized', false);
    job.status = 'created';
    send(seq++, 'midjourney_created');
    await sleep(interval);
    job.status = 'started';
    send(seq++, 'midjourney_started');
    for (let step = 1; step <= PROGRESS_STEPS; step++) {
      await sleep(interval);
      if (closed || res.destroyed) return;
      job.status = 'progress';
      job.progress = step * 10;
      send(seq++, 'midjourney_progress');
      if (behaviour === 'stray-terminal' && step === 4) {
        // An old, out-of-order terminal event: the bus refuses it; the job must go on.
        const stray = `{"event":"midjourney_completed","job":{"jobid":"${job.jobid}","status":"completed","response":{"content":"STRAY"}},"seq":${seq - 3},"ts":"${ts()}"}`;
        res.write(`data: ${stray}\n\n`);
      }
      if (behaviour === 'huge-seq' && step === 4) {
        res.write(`data: {"event":"midjourney_progress","job":${jobJson(job)},"seq":${Number.MAX_SAFE_INTEGER},"ts":"${ts()}"}\n\n`);
      }
      if (behaviour === 'quiet' && step === 3) {
        // Silent from now on, connection held open; the job finishes upstream a little later.
        setTimeout(() => {
          job.status = 'completed';
          job.progress = 100;
          job.updated = new Date().toISOString();
        }, QUIET_COMPLETES_AFTER_MS);
        return;
      }
    }
    await sleep(interval);
    job.status = 'completed';
    job.progress = 100;
    send(seq++, 'midjourney_completed');
    res.end();
  }

  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://upstream').pathname;
    requests.push({ method: req.method ?? '', path });
    if (req.headers.authorization !== `Bearer ${options.token}`) return json(res, 401, '{"error":"Unauthorized"}');
    const jobMatch = /^\/v3\/midjourney\/jobs\/([^/]+)$/.exec(path);
    if (req.method === 'POST' && path.startsWith('/v3/midjourney/jobs/')) {
      void readBody(req).then((text) => {
        const prompt = String((JSON.parse(text || '{}') as { prompt?: unknown }).prompt ?? '');
        const behaviour = (/chaos:([\w-]+)/.exec(prompt)?.[1] ?? 'normal') as Behaviour;
        if (behaviour === 'html-200') {
          res.writeHead(200, { 'Content-Type': 'text/html' });
          res.end(`<!doctype html><html><body><h1>Gateway login</h1><p>Bearer ${options.token}</p></body></html>`);
          return;
        }
        const jobid = `j${Date.now()}${serial++}-chaos:midjourney`;
        const job: HostileJob = {
          jobid,
          status: 'created',
          progress: 0,
          updated: new Date().toISOString(),
          extraJson: echoJson(behaviour, options.token),
        };
        jobs.set(jobid, job);
        void stream(res, job, behaviour);
      });
      return;
    }
    if (req.method === 'GET' && jobMatch) {
      const job = jobs.get(decodeURIComponent(jobMatch[1] as string));
      return job ? json(res, 200, jobJson(job)) : json(res, 404, '{"error":"Job not found"}');
    }
    if (req.method === 'GET' && path === '/v3/midjourney/jobs') {
      return json(res, 200, `{"jobs":[${[...jobs.values()].map(jobJson).join(',')}]}`);
    }
    json(res, 404, '{"error":"Not found"}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v3/midjourney`,
    requests,
    polls: (jobId) => requests.filter((r) => r.method === 'GET' && r.path === `/v3/midjourney/jobs/${encodeURIComponent(jobId)}`).length,
    async close() {
      closed = true;
      for (const res of open) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
