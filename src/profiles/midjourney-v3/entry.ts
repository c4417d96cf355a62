/** The Midjourney v3 profile as the gateway registers it: `UPSTREAM_TOKEN` alone means the vendor's own URL. */
import { midjourneyMedia } from './media.ts';
import { baseUrlVariable, credentialVariable, profileEntry } from '../entry.ts';
import { MIDJOURNEY_VENDOR_URL, midjourneyV3 } from './profile.ts';
import { midjourneyApp } from './routes.ts';

export const midjourneyV3Entry = profileEntry({
  profile: midjourneyV3,
  app: midjourneyApp,
  simulatorPath: '/v3/midjourney',
  media: midjourneyMedia,
  variables: {
    credential: 'UPSTREAM_TOKEN',
    baseUrl: 'UPSTREAM_URL',
    vendorUrl: MIDJOURNEY_VENDOR_URL,
    variables: { UPSTREAM_TOKEN: credentialVariable('token'), UPSTREAM_URL: baseUrlVariable() },
  },
});
