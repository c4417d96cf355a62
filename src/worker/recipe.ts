import { type UpstreamClient, createUpstreamClient } from '../core/ingest/upstream.ts';
import type { Logger } from '../core/logger.ts';
import type { UpstreamProfile } from '../core/profile.ts';
import { configSecrets } from '../config.ts';
import { createRedactor } from '../core/redact.ts';
import { type WorkerConfig, loadWorkerConfig } from './config.ts';
import { createConsoleLogger } from './logger.ts';
import { workerEndpoint } from './profiles.ts';

/**
 * The Worker's composition, the same for the front, each create's starter and each job's object:
 * configuration → the one redactor (every configured secret) → logger → each profile's upstream.
 */
export interface WorkerRecipe {
  config: WorkerConfig;
  redact: (text: string) => string;
  logger: Logger;
  /** The profile's upstream client, at its configured vendor with its credential. */
  upstream(profile: UpstreamProfile): UpstreamClient;
}

const recipes = new WeakMap<object, WorkerRecipe>();

/** The recipe of an environment, built once per isolate; throws ConfigError on a misconfigured deploy (never cached). */
export function workerRecipe(env: object): WorkerRecipe {
  let recipe = recipes.get(env);
  if (!recipe) {
    const config = loadWorkerConfig(env);
    const redact = createRedactor(configSecrets(config));
    recipe = {
      config,
      redact,
      logger: createConsoleLogger(config.LOG_LEVEL, redact),
      upstream: (profile) => createUpstreamClient(profile, workerEndpoint(profile, config), redact),
    };
    recipes.set(env, recipe);
  }
  return recipe;
}
