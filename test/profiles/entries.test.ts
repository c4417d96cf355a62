import { describe, expect, it } from 'vitest';
import { configSecrets, loadConfig } from '../../src/config.ts';
import { PROFILES, PROFILE_VARIABLES, type ProfileEntry } from '../../src/profiles/index.ts';

// What every vendor folder's entry must hold for the configuration and the runtimes to work
// with it unchanged: a new profile passes these without a line in src/core.
describe.each(PROFILES.map((entry): [string, ProfileEntry] => [entry.profile.name, entry]))('the %s entry', (_name, entry) => {
  const { credential, baseUrl, vendorUrl, variables } = entry.variables;
  const open = { GATEWAY_OPEN: 'true' };

  it('declares its credential (a secret) and base URL', () => {
    expect(Object.keys(variables)).toEqual(expect.arrayContaining([credential, baseUrl]));
    expect(variables[credential]?.secret).toBe(true);
    expect(PROFILE_VARIABLES).toContain(entry.variables);
  });

  it("is served from its credential alone, at the vendor's own URL, and the credential is redacted", () => {
    const config = loadConfig({ ...open, [credential]: 'credential-0123456789' });
    expect(entry.endpoint(config)).toMatchObject({ baseUrl: vendorUrl, credential: 'credential-0123456789' });
    expect(configSecrets(config)).toContain('credential-0123456789');
    expect(PROFILES.filter((other) => other.endpoint(config) !== undefined)).toEqual([entry]);
  });

  it('reads back the variables its endpointEnv writes (WORKERS hands the simulator to each worker so)', () => {
    const env = entry.endpointEnv('http://127.0.0.1:9/sim', 'sim-credential-123');
    expect(Object.keys(env).sort()).toEqual([baseUrl, credential].sort());
    expect(entry.endpoint(loadConfig({ ...open, ...env }))).toEqual({
      baseUrl: 'http://127.0.0.1:9/sim',
      credential: 'sim-credential-123',
    });
  });
});
