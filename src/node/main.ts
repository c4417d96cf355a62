// First: V8's tiering is set before any other module runs.
import './v8-tuning.ts';
import cluster from 'node:cluster';
import { type Config, ConfigError } from '../config.ts';
import { errorMessage } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { startCluster, workerCount } from './cluster.ts';
import { startGateway } from './gateway.ts';
import { channelOf, createIpcBus } from './ipc-bus.ts';
import { createNodeProcess, loadNodeConfig } from './recipe.ts';
import { redisTargetOf } from './redis-connect.ts';

/** How long shutdown may take after the drain window before the process exits anyway. */
const SHUTDOWN_GRACE_MS = 10_000;

let config: Config;
try {
  config = loadNodeConfig(process.argv, process.env);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(err.message);
  process.exit(2);
}

// One redactor for the whole process (the simulator's token included): the handlers below, the gateway or the cluster primary.
const node = createNodeProcess(config);
// Last line of defence: a bug must cost one request, never the process (and never leak a secret).
process.on('unhandledRejection', (reason) => console.error(node.failureLine('unhandled rejection', reason)));
process.on('uncaughtException', (err) => console.error(node.failureLine('uncaught exception', err)));

const failed = (err: unknown) => {
  // E.g. the port is taken: exit instead of lingering half-started (Redis and simulator handles keep the loop alive).
  console.error(node.failureLine('gateway failed to start', errorMessage(err), 60));
  process.exit(1);
};

let stopping: () => Promise<void>;
let processLogger: Logger;
const workers = workerCount(config.WORKERS);
try {
  if (cluster.isPrimary && workers > 1) {
    // The primary forks the gateways and holds what they share; it serves no request itself.
    processLogger = node.logger(`${config.INSTANCE_ID ?? 'sse-relay'}-primary`);
    stopping = (await startCluster(node, workers, processLogger)).stop;
  } else {
    // A cluster worker without Redis uses the primary's memory bus, so every worker sees every job.
    const bus = cluster.isWorker && !redisTargetOf(config) ? createIpcBus(channelOf(process)) : undefined;
    const gateway = await startGateway(config, { node, ...(bus ? { bus, busKind: 'memory (in the cluster primary, over IPC)' } : {}) });
    processLogger = gateway.logger;
    stopping = () => gateway.close();
  }
} catch (err) {
  failed(err);
}
const stop = (signal: NodeJS.Signals) => {
  const graceMs = config.DRAIN_MS + SHUTDOWN_GRACE_MS;
  processLogger.info({ signal, graceMs }, 'shutting down');
  // Streams end spread over DRAIN_MS (clients reconnect elsewhere in a trickle), then leases are
  // released so another instance takes over the jobs this one followed; the grace covers both.
  setTimeout(() => {
    processLogger.error({ graceMs }, 'shutdown grace exceeded; exiting anyway');
    process.exit(1);
  }, graceMs).unref();
  stopping().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
