/**
 * The fal-queue profile as the gateway registers it: its key, sent as `Authorization: Key` (the
 * name fal's own SDK reads), and optionally another queue host; `FAL_KEY` alone means fal's queue.
 */
import { falMedia } from './media.ts';
import { baseUrlVariable, credentialVariable, profileEntry } from '../entry.ts';
import { FAL_DIRECT_ORIGINS } from './paths.ts';
import { FAL_QUEUE_VENDOR_URL, falQueue } from './profile.ts';
import { falApp } from './routes.ts';

export const falQueueEntry = profileEntry({
  profile: falQueue,
  app: falApp,
  simulatorPath: '/fal/queue',
  media: falMedia,
  variables: {
    credential: 'FAL_KEY',
    baseUrl: 'FAL_QUEUE_URL',
    vendorUrl: FAL_QUEUE_VENDOR_URL,
    variables: { FAL_KEY: credentialVariable('key'), FAL_QUEUE_URL: baseUrlVariable() },
  },
  // The proxy's other fal hosts (fal.run, storage upload) get the key only when the queue is fal's
  // own, never past a simulator or stand-in.
  origins: (baseUrl) => (new URL(baseUrl).origin === FAL_QUEUE_VENDOR_URL ? FAL_DIRECT_ORIGINS : undefined),
});
