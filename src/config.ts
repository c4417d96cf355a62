/**
 * The configuration every runtime loads: the gateway's own variables (src/core/config.ts) and
 * every profile's (declared in each folder under src/profiles/). Node, the Worker and the dev
 * scripts call these; the core's functions take the profiles' declarations as a parameter.
 */
import * as core from './core/config.ts';
import { PROFILES, PROFILE_VARIABLES } from './profiles/index.ts';

export { ConfigError, isProduction, type VariableInfo } from './core/config.ts';

/** A validated configuration: the gateway's variables and every profile's. */
export type Config = core.Config & core.ProfileValues<(typeof PROFILE_VARIABLES)[number]>;

/** The name of any variable the gateway reads. */
export type ConfigVariableName = keyof Config;

/** Parses environment variables; throws ConfigError naming each invalid variable (never its value). */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const config = core.loadConfig(env, PROFILE_VARIABLES);
  // A namespace shares the profiles' paths, bus keys and tokens: never a profile's name.
  const profiles = new Set<string>(PROFILES.map((entry) => entry.profile.name));
  const clashes = [...new Set(config.PUBLISHERS.map((entry) => entry.namespace))].filter((name) => profiles.has(name));
  if (clashes.length > 0) {
    throw new core.ConfigError(`invalid configuration: PUBLISHERS: namespace ${clashes.join(', ')} is a profile's name; pick another`);
  }
  return config;
}

/** What `--dev` asks for: open without API keys, the simulator without any profile's credential (see the core's). */
export function withDevDefaults(env: Record<string, string | undefined>): Record<string, string | undefined> {
  return core.withDevDefaults(env, PROFILE_VARIABLES);
}

/** Every configured secret, the gateway's and every profile's, for the redactor. */
export function configSecrets(config: core.Config): string[] {
  return core.configSecrets(config, PROFILE_VARIABLES);
}

/** Every variable with its default and whether it is a secret, the gateway's then each profile's. */
export function configVariables(): core.VariableInfo[] {
  return core.configVariables(PROFILE_VARIABLES);
}
