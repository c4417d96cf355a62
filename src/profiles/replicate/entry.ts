/**
 * The replicate profile as the gateway registers it: `REPLICATE_API_TOKEN` (the variable Replicate's
 * own tools read) alone means Replicate's API; `REPLICATE_BASE_URL` names another.
 */
import { baseUrlVariable, credentialVariable, profileEntry } from '../entry.ts';
import { REPLICATE_STREAM_ORIGINS, REPLICATE_VENDOR_URL, replicate } from './profile.ts';
import { replicateApp } from './routes.ts';

export const replicateEntry = profileEntry({
  profile: replicate,
  app: replicateApp,
  simulatorPath: '/replicate/v1',
  variables: {
    credential: 'REPLICATE_API_TOKEN',
    baseUrl: 'REPLICATE_BASE_URL',
    vendorUrl: REPLICATE_VENDOR_URL,
    variables: { REPLICATE_API_TOKEN: credentialVariable('token'), REPLICATE_BASE_URL: baseUrlVariable() },
  },
  // Prediction streams live on Replicate's streaming hosts: the token goes there only when the API is Replicate's own.
  origins: (baseUrl) => (new URL(baseUrl).origin === new URL(REPLICATE_VENDOR_URL).origin ? REPLICATE_STREAM_ORIGINS : undefined),
});
