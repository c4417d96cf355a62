/**
 * The browser client's shared worker (started by client.js as `new SharedWorker(…, {type:'module'})`):
 * one Connection per group (gateway and credential) over the union of its tabs' jobs. Each job's
 * frames are kept (up to BUFFER_MAX) so that a tab attaching later gets the job from its start, as
 * its own connection would have. No dependencies.
 */
import { Connection, DEFAULT_RETRY, tokenClaims } from './client-connection.js';

/** Most items the worker keeps per job for tabs that attach later. */
const BUFFER_MAX = 10_000;

/** Serves the tabs that connect to `scope` (the worker's global scope). */
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
      ...DEFAULT_RETRY,
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
