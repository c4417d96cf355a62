/** The OpenAI Responses profile as the gateway registers it: `OPENAI_API_KEY` alone means OpenAI's own API. */
import { baseUrlVariable, credentialVariable, profileEntry } from '../entry.ts';
import { OPENAI_VENDOR_URL, openaiResponses } from './profile.ts';
import { openaiApp } from './routes.ts';

export const openaiResponsesEntry = profileEntry({
  profile: openaiResponses,
  app: openaiApp,
  simulatorPath: '/openai/v1',
  variables: {
    credential: 'OPENAI_API_KEY',
    baseUrl: 'OPENAI_BASE_URL',
    vendorUrl: OPENAI_VENDOR_URL,
    variables: { OPENAI_API_KEY: credentialVariable('key'), OPENAI_BASE_URL: baseUrlVariable() },
  },
});
