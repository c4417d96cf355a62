/**
 * sse-relay's browser client: many jobs on one connection (`GET /v1/stream`), and one connection
 * per browser for all its tabs where `SharedWorker` exists (client-worker.js holds the stream;
 * tabs attach to it). No dependencies, no build step:
 *
 *   import { watch } from '/client.js';
 *   watch(['midjourney-v3/<id>'], { onEvent: (frame) => console.log(frame.job, frame.seq, frame.event) });
 *
 * Types: /client.d.ts. Every job's events arrive once each, in seq order, whatever the
 * reconnections (the client drops what it already has).
 */
import { Connection, DEFAULT_RETRY, tokenClaims } from './client-connection.js';

const WORKER_NAME = 'sse-relay-client';
const DEFAULTS = { ...DEFAULT_RETRY, refreshBeforeS: 60 };

/** A job's name on the stream: `<profile>/<id>`. */
export function jobName(profile, id) {
  return `${profile}/${id}`;
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
  const worker = new SharedWorker(new URL('./client-worker.js', import.meta.url), { type: 'module', name: WORKER_NAME });
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
