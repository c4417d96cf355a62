/**
 * The Node composition's first steps, the same for every entry (main, a gateway, the cluster
 * primary, migrate): the configuration, then the one redactor of the process, which knows every
 * secret, the built-in simulator's token included, and the loggers on it.
 */
import { randomUUID } from 'node:crypto';
import type pino from 'pino';
import { type Config, configSecrets, loadConfig, withDevDefaults } from '../config.ts';
import { errorDetail } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { createRedactor } from '../core/redact.ts';
import { PROFILES } from '../profiles/index.ts';
import { createNodeLogger } from './logger.ts';

/** What one Node process builds once from its configuration, before any dependency. */
export interface NodeProcess {
  config: Config;
  /** The token the built-in simulator is called with (SIM_TOKEN, else a random one); undefined without SIMULATOR. */
  simulatorToken: string | undefined;
  /** Removes every secret of this process: the configuration's, the simulator's token and REDIS_URL (it may hold a password). */
  redact: (text: string) => string;
  /** A logger on this process's redactor, naming `instance` on every line. */
  logger(instance: string, destination?: pino.DestinationStream): Logger;
  /** The JSON line the process writes to stderr when it fails outside any logger (uncaught errors, a failed start), redacted. */
  failureLine(message: string, err: unknown, level?: number): string;
}

/** The configuration of a Node entry: `--dev` (what `npm start` passes) asks for the open gateway and the built-in simulator. */
export function loadNodeConfig(argv: readonly string[], env: Record<string, string | undefined>): Config {
  return loadConfig(argv.includes('--dev') ? withDevDefaults(env) : env);
}

/** The process's secrets and redactor from its configuration; the simulator's token is decided here, once. */
export function createNodeProcess(config: Config): NodeProcess {
  const simulatorToken = config.SIMULATOR ? (config.SIM_TOKEN ?? `sim-${randomUUID()}`) : undefined;
  const redact = createRedactor([...configSecrets(config), simulatorToken, config.REDIS_URL]);
  return {
    config,
    simulatorToken,
    redact,
    logger: (instance, destination) =>
      createNodeLogger({ level: config.LOG_LEVEL, redact, instance, ...(destination ? { destination } : {}) }),
    failureLine: (message, err, level = 50) => JSON.stringify({ level, msg: message, err: redact(errorDetail(err)) }),
  };
}

/** Every profile's variables naming the simulator at `origin` with `token` (what a cluster worker or the dev Worker reads). */
export function simulatorEnv(origin: string, token: string): Record<string, string> {
  return Object.assign({}, ...PROFILES.map((entry) => entry.endpointEnv(origin + entry.simulatorPath, token)));
}
