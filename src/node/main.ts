import { type Config, ConfigError, configSecrets, loadConfig } from '../core/config.ts';
import { createRedactor } from '../core/redact.ts';
import { startGateway } from './gateway.ts';

const SHUTDOWN_GRACE_MS = 10_000;

let config: Config;
try {
  config = loadConfig(process.env);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(err.message);
  process.exit(2);
}

const redact = createRedactor(configSecrets(config));
// Last line of defence: a bug must cost one request, never the process (and never leak the token).
process.on('unhandledRejection', (reason) => {
  console.error(JSON.stringify({ level: 50, msg: 'unhandled rejection', err: redact(String(reason)) }));
});
process.on('uncaughtException', (err) => {
  console.error(JSON.stringify({ level: 50, msg: 'uncaught exception', err: redact(err.stack ?? err.message) }));
});

let gateway: Awaited<ReturnType<typeof startGateway>>;
try {
  gateway = await startGateway(config);
} catch (err) {
  // E.g. the port is taken: exit instead of lingering half-started (Redis and simulator handles keep the loop alive).
  console.error(
    JSON.stringify({ level: 60, msg: 'gateway failed to start', err: redact(err instanceof Error ? err.message : String(err)) }),
  );
  process.exit(1);
}
const stop = (signal: NodeJS.Signals) => {
  gateway.logger.info({ signal, graceMs: SHUTDOWN_GRACE_MS }, 'shutting down');
  // Leases are released first, so another instance takes over the jobs this one followed.
  setTimeout(() => {
    gateway.logger.error({ graceMs: SHUTDOWN_GRACE_MS }, 'shutdown grace exceeded; exiting anyway');
    process.exit(1);
  }, SHUTDOWN_GRACE_MS).unref();
  gateway.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
