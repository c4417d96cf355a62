/** Every upstream profile the gateway serves, in order (the first is the default); each folder declares its own entry. */
import { falQueueEntry } from './fal-queue/entry.ts';
import { midjourneyV3Entry } from './midjourney-v3/entry.ts';
import { openaiResponsesEntry } from './openai-responses/entry.ts';
import { replicateEntry } from './replicate/entry.ts';

export type { ProfileEntry } from './entry.ts';

export const PROFILES = [midjourneyV3Entry, falQueueEntry, openaiResponsesEntry, replicateEntry] as const;

/** Every profile's variable declarations, for the configuration (src/config.ts). */
export const PROFILE_VARIABLES = PROFILES.map((entry) => entry.variables);
