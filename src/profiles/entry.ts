/** What the gateway registers for one upstream profile, and how each vendor folder declares it. */
import { z } from 'zod';
import type { ProfileVariables, Variable, Variables } from '../core/config.ts';
import type { UpstreamEndpoint } from '../core/ingest/upstream.ts';
import type { ProfileMedia } from '../core/media/media.ts';
import type { UpstreamProfile } from '../core/profile.ts';
import type { AppProfile, AppRelay } from '../http/app.ts';

/** A loaded configuration, read by variable name (the profiles' variables are their own). */
type ConfigValues = Readonly<Record<string, unknown>>;

export interface ProfileEntry<V extends Variables = Variables> {
  profile: UpstreamProfile;
  /** The profile as the app serves it (its drop-in routes), given its relay. */
  app(relay: AppRelay): AppProfile;
  /** Where the built-in simulator serves this vendor. */
  simulatorPath: string;
  /** Where its jobs' media (result images, videos) are, for the media proxy; absent: its jobs have none. */
  media?: ProfileMedia;
  /** Its variables: the credential, the base URL and the vendor's own URL, with the schema of each. */
  variables: ProfileVariables<V>;
  /** The vendor's base URL and credential from the configuration; undefined when its credential is not set. */
  endpoint(config: ConfigValues): Pick<UpstreamEndpoint, 'baseUrl' | 'credential' | 'origins'> | undefined;
  /** The variables that make `endpoint` name this base URL and credential (WORKERS: each worker reads the simulator from them). */
  endpointEnv(baseUrl: string, credential: string): Record<string, string>;
}

/** What a vendor folder declares; `endpoint` and `endpointEnv` follow from its variables. */
export interface ProfileDeclaration<V extends Variables> extends Omit<ProfileEntry<V>, 'endpoint' | 'endpointEnv'> {
  /** The vendor's other hosts the credential may be sent to, given the base URL (fal: its direct hosts, only past its own queue). */
  origins?(baseUrl: string): readonly string[] | undefined;
}

/** A profile's registry entry: the credential alone means the vendor's own URL; its base URL variable names another. */
export function profileEntry<V extends Variables>(declaration: ProfileDeclaration<V>): ProfileEntry<V> {
  const { origins, ...entry } = declaration;
  const { credential, baseUrl, vendorUrl } = declaration.variables;
  return {
    ...entry,
    endpoint(config) {
      const key = config[credential];
      if (typeof key !== 'string' || key === '') return undefined;
      const configured = config[baseUrl];
      const url = typeof configured === 'string' && configured !== '' ? configured : vendorUrl;
      const others = origins?.(url);
      return { baseUrl: url, credential: key, ...(others ? { origins: others } : {}) };
    },
    endpointEnv: (url, key) => ({ [baseUrl]: url, [credential]: key }),
  };
}

/** A vendor credential: a secret, long enough to be told apart from data so the redactor can find it. */
export function credentialVariable(noun: 'token' | 'key'): Variable<string | undefined> {
  return {
    schema: z
      .string()
      .min(8, `must be at least 8 characters (a shorter ${noun} cannot be told apart from data, so it could not be redacted)`)
      .optional(),
    secret: true,
  };
}

/** A vendor base URL (http or https) other than the vendor's own. */
export function baseUrlVariable(): Variable<string | undefined> {
  return { schema: z.url({ protocol: /^https?$/ }).optional() };
}
