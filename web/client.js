/**
 * sse-relay's browser client: many jobs on one connection (`GET /v1/stream`), and one connection
 * per browser for all its tabs where `SharedWorker` exists (a worker of this same module holds
 * the stream; tabs attach to it). No dependencies, no build step:
 *
 *   import { watch } from '/client.js';
 *   watch(['midjourney-v3/<id>'], { onEvent: (frame) => console.log(frame.job, frame.seq, frame.event) });
 *
 * Types: /client.d.ts. Every job's events arrive once each, in seq order, whatever the
 * reconnections (the client drops what it already has).
 */

const WORKER_NAME = 'sse-relay-client';
/** Where a manual reconnection asks the stream to resume (the browser's own reconnection sends `Last-Event-ID`). */
const RESUME_PARAM = 'last_event_id';
/** Errors in a row on which the browser's own retries are left to it; then the client's back-off takes over. */
const BROWSER_RETRIES = 3;
/** Most items a shared worker keeps per job for tabs that attach later. */
const BUFFER_MAX = 10_000;
const DEFAULTS = { minRetryMs: 1000, maxRetryMs: 30_000, refreshBeforeS: 60 };

/** A job's name on the stream: `<profile>/<id>`. */
export function jobName(profile, id) {
  return `${profile}/${id}`;
}

/** `<profile>/<id>` in a URL: the id encoded. */
function jobPath(name) {
  const slash = name.indexOf('/');
  return `${encodeURIComponent(name.slice(0, slash))}/${encodeURIComponent(name.slice(slash + 1))}`;
}

/** A token's claims (a JWT's payload, unverified: the client only reads its expiry and jobs), or undefined. */
function tokenClaims(token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), '=')));
  } catch {
    return undefined;
  }
}

/** A handler's call: a throwing handler is reported and never stops the others. */
function call(handler, ...args) {
  if (typeof handler !== 'function') return;
  try {
    handler(...args);
  } catch (err) {
    (globalThis.reportError ?? console.error)(err);
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
class Connection {
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

/**
 * Keeps a token fresh: calls `source` (a function) again `refreshBeforeS` before the current
 * token's `exp` (at most a third of its remaining life before), and when the gateway refuses it.
 */
function tokenKeeper(source, refreshBeforeS, onToken, onError) {
  let current = typeof source === 'function' ? undefined : source;
  let timer;
  let stopped = false;
  const schedule = () => {
    clearTimeout(timer);
    const exp = current && tokenClaims(current)?.exp;
    if (typeof source !== 'function' || typeof exp !== 'number' || stopped) return;
    const left = exp - Date.now() / 1000;
    const lead = Math.min(refreshBeforeS, left / 3);
    timer = setTimeout(() => refresh().catch(onError), Math.max(0, (left - lead) * 1000));
  };
  const refresh = async () => {
    if (typeof source !== 'function') return current;
    current = await source();
    onToken(current);
    schedule();
    return current;
  };
  return {
    get current() {
      return current;
    },
    /** The first token (the function's, or the string). */
    async first() {
      if (current === undefined && typeof source === 'function') await refresh();
      return current;
    },
    refresh,
    refreshable: typeof source === 'function',
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

/**
 * Watches jobs (`<profile>/<id>`) over one multiplexed stream. `jobs` is a list of names, or an
 * object of names and their own handlers (called before the shared ones). See client.d.ts.
 */
export function watch(jobs, handlers = {}, options = {}) {
  const settings = { ...DEFAULTS, ...options };
  const base = (options.base ?? new URL(import.meta.url).origin).replace(/\/+$/, '');
  const entries = Array.isArray(jobs) ? jobs.map((name) => [name, undefined]) : Object.entries(jobs);
  const own = new Map();
  let state = 'closed';
  let ended = false;
  let closed = false;
  let transport;

  const add = (name, jobHandlers) => {
    if (typeof name !== 'string' || !/^[\w-]+\/./.test(name)) throw new TypeError(`a job is "<profile>/<id>", not ${JSON.stringify(name)}`);
    if (!own.has(name)) own.set(name, { handlers: jobHandlers ?? {}, seq: -1, over: false });
    else if (jobHandlers) own.get(name).handlers = jobHandlers;
  };
  for (const [name, jobHandlers] of entries) add(name, jobHandlers);

  const checkEnd = () => {
    if (ended || own.size === 0 || [...own.values()].some((job) => !job.over)) return;
    ended = true;
    call(handlers.onEnd);
  };
  const out = {
    frame(frame) {
      const job = own.get(frame.job);
      if (!job || frame.seq <= job.seq) return;
      job.seq = frame.seq;
      call(job.handlers.onEvent, frame);
      call(handlers.onEvent, frame);
      if (frame.terminal && !job.over) {
        job.over = true;
        call(job.handlers.onTerminal, frame);
        call(handlers.onTerminal, frame);
        checkEnd();
      }
    },
    gap(gap) {
      const job = own.get(gap.job);
      if (!job) return;
      call(job.handlers.onGap, gap);
      call(handlers.onGap, gap);
    },
    state(next) {
      state = next;
      call(handlers.onState, next);
    },
    error(error) {
      const job = error.job === undefined ? undefined : own.get(error.job);
      if (error.job !== undefined && !job) return;
      call(handlers.onError, error);
      if (job && !job.over) {
        job.over = true;
        checkEnd();
      }
    },
  };

  const keeper = tokenKeeper(
    options.token,
    settings.refreshBeforeS,
    (token) => transport?.token(token),
    (err) => out.error({ status: 0, code: 'token_refresh_failed', message: String(err?.message ?? err) }),
  );
  const names = () => [...own.keys()];
  // A shared worker runs this module from its own origin: only pages of that origin can start it.
  let useShared = options.shared !== false && typeof SharedWorker === 'function' && new URL(import.meta.url).origin === location.origin;

  keeper.first().then(
    (token) => {
      if (closed) return;
      if (useShared) {
        try {
          transport = sharedTransport({ base, token, jobs: names(), out, keeper, settings });
        } catch {
          useShared = false; // the browser refused the worker (a policy, a private mode): this tab's own connection
        }
      }
      transport ??= localTransport({ base, token, jobs: names(), out, keeper, settings });
    },
    (err) => out.error({ status: 0, code: 'token_refresh_failed', message: String(err?.message ?? err) }),
  );

  return {
    add(name, jobHandlers) {
      const known = own.has(name);
      add(name, jobHandlers);
      if (known) return;
      ended = false;
      transport?.jobs(names());
    },
    remove(name) {
      if (!own.delete(name)) return;
      transport?.jobs(names());
      checkEnd();
    },
    close() {
      closed = true;
      keeper.stop();
      transport?.close();
    },
    get state() {
      return state;
    },
    get shared() {
      return useShared;
    },
  };
}

/** This tab's own connection (no SharedWorker, or `shared: false`). */
function localTransport({ base, token, jobs, out, keeper, settings }) {
  const connection = new Connection({
    base,
    token,
    out,
    needToken: keeper.refreshable ? () => keeper.refresh() : undefined,
    minRetryMs: settings.minRetryMs,
    maxRetryMs: settings.maxRetryMs,
  });
  connection.setJobs(jobs);
  return {
    jobs: (names) => connection.setJobs(names),
    token: (next) => connection.setToken(next),
    close: () => connection.stop(),
  };
}

let tabPort;
const tabRoutes = new Map(); // watch id → message handler
const tabWatches = new Map(); // watch id → its current `watch` message (sent again after a back/forward cache restore)

/** This tab's port to the shared worker (one per tab, whatever the number of watches). */
function workerPort() {
  if (tabPort) return tabPort;
  const worker = new SharedWorker(import.meta.url, { type: 'module', name: WORKER_NAME });
  worker.onerror = (event) => console.error('sse-relay client: the shared worker failed', event.message ?? event);
  tabPort = worker.port;
  tabPort.onmessage = (message) => tabRoutes.get(message.data.id)?.(message.data);
  tabPort.start();
  // The worker cannot see a tab go: say so, and ping meanwhile.
  addEventListener('pagehide', () => {
    for (const id of tabWatches.keys()) tabPort.postMessage({ type: 'unwatch', id });
  });
  addEventListener('pageshow', (event) => {
    if (event.persisted) for (const message of tabWatches.values()) tabPort.postMessage(message);
  });
  setInterval(() => tabPort.postMessage({ type: 'ping', ids: [...tabWatches.keys()] }), 10_000);
  return tabPort;
}

/** Attaches this watch to the browser's shared worker: its jobs join the worker's one stream. */
function sharedTransport({ base, token, jobs, out, keeper, settings }) {
  const port = workerPort();
  // Not crypto.randomUUID: a page served over plain HTTP (not localhost) has none.
  const id = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}-${Math.random().toString(36).slice(2)}`;
  const claims = token ? tokenClaims(token) : undefined;
  // Tabs share a stream when they hold the same credential: none, or tokens for the same jobs.
  const group = `${base}\n${token ? JSON.stringify([...(claims?.jobs ?? [token])].sort()) : ''}`;
  const retry = { minRetryMs: settings.minRetryMs, maxRetryMs: settings.maxRetryMs };
  const watchMessage = (names) => ({ type: 'watch', id, group, base, jobs: names, token: keeper.current, retry });
  tabRoutes.set(id, (message) => {
    if (message.type === 'frame') out.frame(message.frame);
    else if (message.type === 'gap') out.gap(message.gap);
    else if (message.type === 'state') out.state(message.state);
    else if (message.type === 'error') out.error(message.error);
    else if (message.type === 'token-needed' && keeper.refreshable) {
      keeper.refresh().catch((err) => out.error({ status: 0, code: 'token_refresh_failed', message: String(err?.message ?? err) }));
    }
  });
  const send = (names) => {
    const message = watchMessage(names);
    tabWatches.set(id, message);
    port.postMessage(message);
  };
  send(jobs);
  return {
    jobs: send,
    token: (next) => {
      tabWatches.set(id, { ...tabWatches.get(id), token: next });
      port.postMessage({ type: 'token', id, token: next });
    },
    close: () => {
      tabWatches.delete(id);
      tabRoutes.delete(id);
      port.postMessage({ type: 'unwatch', id });
    },
  };
}

/**
 * The shared worker's side: one Connection per group (gateway and credential) over the union of
 * its tabs' jobs. Each job's frames are kept (up to BUFFER_MAX) so that a tab attaching later
 * gets the job from its start, as its own connection would have.
 */
function serveTabs(scope) {
  const groups = new Map(); // group key → { connection, watchers: Map<id, {port, jobs, seen}>, buffers: Map<job, {items, trimmed}> }
  const watchers = new Map(); // watch id → group key

  const unwatch = (id) => {
    const key = watchers.get(id);
    watchers.delete(id);
    const group = key === undefined ? undefined : groups.get(key);
    if (!group) return;
    group.watchers.delete(id);
    if (group.watchers.size === 0) {
      group.connection.stop();
      groups.delete(key);
      return;
    }
    update(group);
  };

  const union = (group) => new Set([...group.watchers.values()].flatMap((watcher) => [...watcher.jobs]));
  const update = (group) => {
    const jobs = union(group);
    for (const job of group.buffers.keys()) if (!jobs.has(job)) group.buffers.delete(job);
    group.connection.setJobs([...jobs]);
  };
  const toWatchers = (group, job, message) => {
    for (const [id, watcher] of group.watchers)
      if (job === undefined || watcher.jobs.has(job)) watcher.port.postMessage({ ...message, id });
  };
  const keep = (group, job, item) => {
    let buffer = group.buffers.get(job);
    if (!buffer) group.buffers.set(job, (buffer = { items: [], trimmed: false }));
    buffer.items.push(item);
    if (buffer.items.length > BUFFER_MAX) {
      buffer.items.shift();
      buffer.trimmed = true;
    }
  };

  /** The group's connection takes the back-off of the watch that created it. */
  const createGroup = (key, base, token, retry) => {
    const group = { watchers: new Map(), buffers: new Map(), state: 'closed', tokenWaiters: [] };
    group.connection = new Connection({
      base,
      token,
      ...DEFAULTS,
      ...retry,
      needToken: () =>
        new Promise((resolve, reject) => {
          group.tokenWaiters.push(resolve);
          toWatchers(group, undefined, { type: 'token-needed' });
          setTimeout(() => reject(new Error('no tab gave a new token')), 10_000);
        }),
      out: {
        frame(frame) {
          keep(group, frame.job, { type: 'frame', frame });
          toWatchers(group, frame.job, { type: 'frame', frame });
        },
        gap(gap) {
          keep(group, gap.job, { type: 'gap', gap });
          toWatchers(group, gap.job, { type: 'gap', gap });
        },
        state(state) {
          group.state = state;
          toWatchers(group, undefined, { type: 'state', state });
        },
        error(error) {
          toWatchers(group, undefined, { type: 'error', error });
        },
      },
    });
    groups.set(key, group);
    return group;
  };

  const offerToken = (group, token) => {
    if (!token) return;
    const current = group.connection.token;
    if (!current || (tokenClaims(token)?.exp ?? 0) >= (tokenClaims(current)?.exp ?? 0)) group.connection.setToken(token);
    for (const resolve of group.tokenWaiters.splice(0)) resolve(group.connection.token);
  };

  /** Sends a watcher what its group already has of its new jobs, in order. */
  const replay = (group, id, watcher, jobs) => {
    for (const job of jobs) {
      const buffer = group.buffers.get(job);
      if (!buffer || buffer.items.length === 0) continue;
      if (buffer.trimmed) {
        const first = buffer.items.find((item) => item.type === 'frame');
        const to = (first?.frame.seq ?? 1) - 1;
        group.connection.latest(job).then((latest) => watcher.port.postMessage({ type: 'gap', id, gap: { job, from: 0, to, latest } }));
      }
      for (const item of buffer.items) watcher.port.postMessage({ ...item, id });
    }
  };

  const handle = (port, message) => {
    if (message.type === 'watch') {
      let group = groups.get(message.group);
      if (!group) group = createGroup(message.group, message.base, message.token, message.retry);
      const existing = group.watchers.get(message.id);
      const watcher = existing ?? { port, jobs: new Set(), seen: Date.now() };
      const added = message.jobs.filter((job) => !watcher.jobs.has(job));
      watcher.jobs = new Set(message.jobs);
      watcher.seen = Date.now();
      if (!existing) {
        group.watchers.set(message.id, watcher);
        watchers.set(message.id, message.group);
        port.postMessage({ type: 'state', id: message.id, state: group.state });
      }
      replay(group, message.id, watcher, added);
      offerToken(group, message.token);
      update(group);
    } else if (message.type === 'token') {
      const group = groups.get(watchers.get(message.id));
      if (group) offerToken(group, message.token);
    } else if (message.type === 'unwatch') {
      unwatch(message.id);
    } else if (message.type === 'ping') {
      for (const id of message.ids) {
        const watcher = groups.get(watchers.get(id))?.watchers.get(id);
        if (watcher) watcher.seen = Date.now();
      }
    }
  };

  // A tab that vanished without `pagehide` (a crash) stops pinging: its watches are dropped.
  setInterval(() => {
    for (const [id, key] of watchers) {
      const watcher = groups.get(key)?.watchers.get(id);
      if (watcher && Date.now() - watcher.seen > 45_000) unwatch(id);
    }
  }, 15_000);

  scope.onconnect = (event) => {
    const port = event.ports[0];
    port.onmessage = (message) => handle(port, message.data);
    port.start();
  };
}

if (typeof SharedWorkerGlobalScope === 'function' && globalThis instanceof SharedWorkerGlobalScope) serveTabs(globalThis);
