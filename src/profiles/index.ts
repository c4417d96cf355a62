/** Every upstream profile the gateway serves, with what each runtime needs to wire it; the first is the default. */
import type { Config } from '../core/config.ts';
import type { UpstreamProfile } from '../core/profile.ts';
import type { UpstreamEndpoint } from '../core/ingest/upstream.ts';
import type { AppProfile, AppRelay } from '../http/app.ts';
import { FAL_QUEUE_VENDOR_URL, falQueue } from './fal-queue/profile.ts';
import { falApp } from './fal-queue/routes.ts';
import { FAL_DIRECT_ORIGINS } from './fal-queue/paths.ts';
import { MIDJOURNEY_VENDOR_URL, midjourneyV3 } from './midjourney-v3/profile.ts';
import { midjourneyApp } from './midjourney-v3/routes.ts';
import { OPENAI_VENDOR_URL, openaiResponses } from './openai-responses/profile.ts';
import { openaiApp } from './openai-responses/routes.ts';

export interface ProfileEntry {
  profile: UpstreamProfile;
  /** The profile as the app serves it (its drop-in routes), given its relay. */
  app(relay: AppRelay): AppProfile;
  /** Where the built-in simulator serves this vendor. */
  simulatorPath: string;
  /** The vendor's base URL and credential from the configuration; undefined when not configured. */
  endpoint(config: Config): Pick<UpstreamEndpoint, 'baseUrl' | 'credential' | 'origins'> | undefined;
  /** The variables that make `endpoint` name this base URL and credential (WORKERS: each worker reads the simulator from them). */
  endpointEnv(baseUrl: string, credential: string): Record<string, string>;
}

export const PROFILES: readonly ProfileEntry[] = [
  {
    profile: midjourneyV3,
    app: midjourneyApp,
    simulatorPath: '/v3/midjourney',
    // UPSTREAM_TOKEN alone means the vendor's own URL.
    endpoint: (config) =>
      config.UPSTREAM_TOKEN ? { baseUrl: config.UPSTREAM_URL ?? MIDJOURNEY_VENDOR_URL, credential: config.UPSTREAM_TOKEN } : undefined,
    endpointEnv: (baseUrl, credential) => ({ UPSTREAM_URL: baseUrl, UPSTREAM_TOKEN: credential }),
  },
  {
    profile: falQueue,
    app: falApp,
    simulatorPath: '/fal/queue',
    // FAL_KEY alone means fal's own queue host. The proxy's other fal hosts (fal.run, storage
    // upload) get the key only when the queue is fal's own, never past a simulator or stand-in.
    endpoint(config) {
      if (!config.FAL_KEY) return undefined;
      const baseUrl = config.FAL_QUEUE_URL ?? FAL_QUEUE_VENDOR_URL;
      const own = new URL(baseUrl).origin === FAL_QUEUE_VENDOR_URL;
      return { baseUrl, credential: config.FAL_KEY, ...(own ? { origins: FAL_DIRECT_ORIGINS } : {}) };
    },
    endpointEnv: (baseUrl, credential) => ({ FAL_QUEUE_URL: baseUrl, FAL_KEY: credential }),
  },
  {
    profile: openaiResponses,
    app: openaiApp,
    simulatorPath: '/openai/v1',
    // OPENAI_API_KEY alone means OpenAI's own API.
    endpoint: (config) =>
      config.OPENAI_API_KEY ? { baseUrl: config.OPENAI_BASE_URL ?? OPENAI_VENDOR_URL, credential: config.OPENAI_API_KEY } : undefined,
    endpointEnv: (baseUrl, credential) => ({ OPENAI_BASE_URL: baseUrl, OPENAI_API_KEY: credential }),
  },
];
