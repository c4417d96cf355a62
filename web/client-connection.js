/**
 * One multiplexed stream (`GET /v1/stream`) over a set of jobs, for the browser client: in a tab,
 * or in the shared worker for all tabs (client-worker.js). No dependencies.
 */

/** Where a manual reconnection asks the stream to resume (the browser's own reconnection sends `Last-Event-ID`). */
const RESUME_PARAM = 'last_event_id';
/** Errors in a row on which the browser's own retries are left to it; then the client's back-off takes over. */
const BROWSER_RETRIES = 3;
/** The back-off after the browser gave up on a stream. */
export const DEFAULT_RETRY = { minRetryMs: 1000, maxRetryMs: 30_000 };

/** `<profile>/<id>` in a URL: the id encoded. */
export function jobPath(name) {
  const slash = name.indexOf('/');
  return `${encodeURIComponent(name.slice(0, slash))}/${encodeURIComponent(name.slice(slash + 1))}`;
}

/** A token's claims (a JWT's payload, unverified: the client only reads its expiry and jobs), or undefined. */
export function tokenClaims(token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), '=')));
  } catch {
    return undefined;
  }
}

/** Why a stream was refused: its status and JSON error, from a plain request of the same URL. */
async function refusal(url) {
  const controller = new AbortController();
  try {
    const response = await fetch(url, { signal: controller.signal, cache: 'no-store', headers: { Accept: 'text/event-stream' } });
    if (response.status === 200 || response.status === 204) {
      controller.abort();
      return { status: response.status, code: 'ok', message: '' };
    }
    const body = await response.json().catch(() => ({}));
    return { status: response.status, code: body.code ?? `http_${response.status}`, message: body.error ?? `HTTP ${response.status}` };
  } catch (err) {
    return { status: 0, code: 'network', message: String(err?.message ?? err) };
  }
}

/**
 * One multiplexed stream over a set of jobs (in a tab, or in the shared worker for all tabs).
 * It reconnects by itself: the browser's `EventSource` retries with `Last-Event-ID`; when the
 * browser gives up (a refusal, an expired token), it asks why and reopens with back-off, a new
 * token or not at all (a 4xx that says the request is wrong).
 */
export class Connection {
  constructor(options) {
    this.base = options.base;
    this.out = options.out; // { frame, gap, state, error }
    this.needToken = options.needToken; // () => Promise<string>, or undefined
    this.minRetryMs = options.minRetryMs;
    this.maxRetryMs = options.maxRetryMs;
    this.token = options.token;
    this.jobs = new Map(); // name → { seq, over }
    this.lastId = '';
    this.source = null;
    this.sourceToken = undefined;
    this.attempts = 0;
    this.timer = undefined;
    this.state = 'closed';
    this.failures = 0;
    this.stopped = false;
    // Refused for good (a 4xx): nothing is asked again until the list of jobs changes.
    this.refused = false;
  }

  /** The jobs to stream; a change reconnects (coalesced within a turn). */
  setJobs(names) {
    const wanted = new Set(names);
    let changed = false;
    for (const name of wanted) {
      if (!this.jobs.has(name)) {
        this.jobs.set(name, { seq: -1, over: false });
        changed = true;
      }
    }
    for (const name of [...this.jobs.keys()]) {
      if (!wanted.has(name)) {
        this.jobs.delete(name);
        changed = true;
      }
    }
    if (changed) {
      this.refused = false;
      this.schedule(0);
    }
  }

  /** A newer token: used from the next connection on (an open stream needs none). */
  setToken(token) {
    this.token = token;
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.source?.close();
    this.source = null;
    this.setState('closed');
  }

  schedule(delayMs) {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.open(), delayMs);
  }

  setState(state) {
    if (state === this.state) return;
    this.state = state;
    this.out.state(state);
  }

  live() {
    return [...this.jobs].filter(([, job]) => !job.over).map(([name]) => name);
  }

  url(names) {
    const query = [`jobs=${names.map(jobPath).join(',')}`];
    if (this.token) query.push(`token=${encodeURIComponent(this.token)}`);
    if (this.lastId) query.push(`${RESUME_PARAM}=${encodeURIComponent(this.lastId)}`);
    return `${this.base}/v1/stream?${query.join('&')}`;
  }

  open() {
    clearTimeout(this.timer);
    this.source?.close();
    this.source = null;
    if (this.stopped || this.refused) return;
    const names = this.live();
    if (names.length === 0) return this.setState('closed');
    const url = this.url(names);
    const source = new EventSource(url);
    this.source = source;
    this.sourceToken = this.token;
    this.setState(this.attempts > 0 ? 'reconnecting' : 'connecting');
    source.onopen = () => {
      if (this.source !== source) return;
      this.attempts = 0;
      this.failures = 0;
      this.setState('open');
    };
    source.onmessage = (message) => this.message(source, message);
    source.addEventListener('gap', (message) => this.gap(source, message));
    source.onerror = () => this.failed(source, url);
  }

  message(source, message) {
    if (this.source !== source) return;
    let frame;
    try {
      frame = JSON.parse(message.data);
    } catch {
      return;
    }
    if (message.lastEventId) this.lastId = message.lastEventId;
    const job = this.jobs.get(frame.job);
    if (!job || frame.seq <= job.seq) return;
    job.seq = frame.seq;
    if (frame.terminal) job.over = true;
    this.out.frame(frame);
    if (frame.terminal && this.live().length === 0) {
      // Every job is over: the server ends the stream; do not let the browser ask again.
      source.close();
      this.source = null;
      this.setState('closed');
    }
  }

  gap(source, message) {
    if (this.source !== source) return;
    let gap;
    try {
      gap = JSON.parse(message.data);
    } catch {
      return;
    }
    if (!this.jobs.has(gap.job)) return;
    this.latest(gap.job).then((latest) => this.out.gap({ job: gap.job, from: gap.from, to: gap.to, latest }));
  }

  /** The job's latest object as the gateway stored it (`GET /v1/jobs/<profile>/<id>`), or null. */
  async latest(name) {
    const query = this.token ? `?token=${encodeURIComponent(this.token)}` : '';
    try {
      const response = await fetch(`${this.base}/v1/jobs/${jobPath(name)}${query}`, { cache: 'no-store' });
      return response.ok ? await response.json() : null;
    } catch {
      return null;
    }
  }

  failed(source, url) {
    if (this.source !== source) return;
    this.failures++;
    const retrying = source.readyState === EventSource.CONNECTING;
    if (retrying && this.sourceToken === this.token && this.failures < BROWSER_RETRIES) {
      // The browser retries by itself after the gateway's `retry:`, with Last-Event-ID.
      this.setState('reconnecting');
      return;
    }
    source.close();
    this.source = null;
    this.setState('reconnecting');
    if (retrying && this.sourceToken !== this.token) return this.schedule(0); // retry now, with the newer token
    this.recover(url);
  }

  /** The browser gave up on the stream: find out why, then reopen (after back-off), refresh the token, or stop. */
  async recover(url) {
    const answer = await refusal(url);
    if (this.stopped || this.source) return;
    if (answer.status === 204) {
      for (const job of this.jobs.values()) job.over = true;
      return this.setState('closed');
    }
    if ((answer.status === 401 || answer.status === 403) && this.needToken && this.attempts < 2) {
      this.attempts++;
      try {
        this.token = await this.needToken();
        return this.schedule(0);
      } catch {
        // Fall through: report the refusal.
      }
    }
    if (answer.status >= 400 && answer.status < 500 && answer.status !== 408 && answer.status !== 429) {
      // A refusal naming one job (unknown, or not in the token) drops that job; the others go on.
      const job = this.live().find((name) => answer.message.includes(name));
      this.out.error({ status: answer.status, code: answer.code, message: answer.message, ...(job ? { job } : {}) });
      if (job && this.live().length > 1) {
        this.jobs.get(job).over = true;
        return this.schedule(0);
      }
      this.refused = true;
      return this.setState('closed');
    }
    const ceiling = Math.min(this.maxRetryMs, this.minRetryMs * 2 ** this.attempts);
    this.attempts++;
    this.schedule(ceiling / 2 + Math.random() * (ceiling / 2));
  }
}
