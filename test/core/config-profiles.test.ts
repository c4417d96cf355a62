import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, type ProfileVariables, configSecrets, configVariables, loadConfig, withDevDefaults } from '../../src/core/config.ts';

// A made-up vendor's declarations: the core derives its schema, secrets, dev defaults and mode
// rules from them alone, so a new profile needs no change in src/core.
const ACME: ProfileVariables = {
  credential: 'ACME_TOKEN',
  baseUrl: 'ACME_URL',
  vendorUrl: 'https://api.acme.example/v1',
  variables: {
    ACME_TOKEN: { schema: z.string().min(8, 'must be at least 8 characters').optional(), secret: true },
    ACME_URL: { schema: z.url().optional() },
    ACME_REGION: { schema: z.enum(['eu', 'us']).default('eu') },
    ACME_SIGNING_KEY: { schema: z.string().optional(), secret: true },
  },
};
const OTHER: ProfileVariables = {
  credential: 'OTHER_KEY',
  baseUrl: 'OTHER_URL',
  vendorUrl: 'https://other.example',
  variables: { OTHER_KEY: { schema: z.string().optional() }, OTHER_URL: { schema: z.url().optional() } },
};
const PROFILES = [ACME, OTHER];
const OPEN = { GATEWAY_OPEN: 'true' };

describe('the configuration takes the profiles its edge passes', () => {
  it('parses a profile variable with its schema and default, and names it (never its value) when invalid', () => {
    const config = loadConfig({ ...OPEN, ACME_TOKEN: 'acme-token-123' }, PROFILES);
    expect(config.ACME_TOKEN).toBe('acme-token-123');
    expect(config.ACME_REGION).toBe('eu');
    expect(config.PORT).toBe(8080);
    let message = '';
    try {
      loadConfig({ ...OPEN, ACME_TOKEN: 'secret1', ACME_REGION: 'mars' }, PROFILES);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      message = (err as Error).message;
    }
    expect(message).toMatch(/ACME_TOKEN: must be at least 8 characters/);
    expect(message).toMatch(/ACME_REGION/);
    expect(message).not.toContain('secret1');
  });

  it("counts any profile's credential as an upstream, and names every credential when none is set", () => {
    expect(loadConfig({ ...OPEN, OTHER_KEY: 'other' }, PROFILES).OTHER_KEY).toBe('other');
    expect(() => loadConfig(OPEN, PROFILES)).toThrow(
      "ACME_TOKEN, OTHER_KEY: no upstream configured; set a profile's credential (ACME_TOKEN or OTHER_KEY, each with its optional base URL: ACME_URL, OTHER_URL), or SIMULATOR=true",
    );
    expect(() => loadConfig({ ...OPEN, SIMULATOR: 'true', OTHER_KEY: 'other' }, PROFILES)).toThrow(
      'SIMULATOR: cannot be combined with an upstream credential (OTHER_KEY set)',
    );
    expect(() => loadConfig({ ...OPEN, SIMULATOR: 'true', ACME_URL: 'https://acme.test' }, PROFILES)).toThrow(
      'ACME_TOKEN: required when ACME_URL is set',
    );
  });

  it('asks for the simulator under --dev only when no profile credential is set', () => {
    expect(withDevDefaults({}, PROFILES)).toEqual({ GATEWAY_OPEN: 'true', SIMULATOR: 'true' });
    expect(withDevDefaults({ OTHER_KEY: 'other' }, PROFILES)).toEqual({ GATEWAY_OPEN: 'true', OTHER_KEY: 'other' });
    // A base URL alone configures nothing: the simulator is asked for, and the URL is refused without its credential.
    expect(withDevDefaults({ ACME_URL: 'https://acme.test' }, PROFILES).SIMULATOR).toBe('true');
  });

  it("lists every profile's secrets with the gateway's; a credential is a secret even when not declared one", () => {
    const config = loadConfig(
      { ...OPEN, ACME_TOKEN: 'acme-token-123', ACME_SIGNING_KEY: 'signing', OTHER_KEY: 'other', SIM_TOKEN: 'sim' },
      PROFILES,
    );
    expect(configSecrets(config, PROFILES).sort()).toEqual(['acme-token-123', 'other', 'signing', 'sim']);
  });

  it('lists every variable, the gateway’s then the profiles’, with its default and whether it is a secret', () => {
    const variables = configVariables(PROFILES);
    const byName = new Map(variables.map((variable) => [variable.name, variable]));
    expect(variables.map((variable) => variable.name).slice(-6)).toEqual([
      'ACME_TOKEN',
      'ACME_URL',
      'ACME_REGION',
      'ACME_SIGNING_KEY',
      'OTHER_KEY',
      'OTHER_URL',
    ]);
    expect(byName.get('PORT')).toEqual({ name: 'PORT', default: '8080', secret: false });
    expect(byName.get('GATEWAY_OPEN')).toEqual({ name: 'GATEWAY_OPEN', default: 'false', secret: false });
    expect(byName.get('GATEWAY_API_KEYS')).toEqual({ name: 'GATEWAY_API_KEYS', default: undefined, secret: true });
    expect(byName.get('HOST')?.default).toMatch(/127\.0\.0\.1/);
    expect(byName.get('ACME_URL')).toEqual({ name: 'ACME_URL', default: 'https://api.acme.example/v1', secret: false });
    expect(byName.get('ACME_REGION')).toEqual({ name: 'ACME_REGION', default: 'eu', secret: false });
    expect(byName.get('OTHER_KEY')).toEqual({ name: 'OTHER_KEY', default: undefined, secret: true });
  });

  it('refuses a variable declared twice, or a role naming an undeclared variable', () => {
    expect(() => loadConfig(OPEN, [ACME, { ...OTHER, variables: { ...OTHER.variables, ACME_REGION: { schema: z.string() } } }])).toThrow(
      'variable ACME_REGION is declared twice',
    );
    expect(() => loadConfig(OPEN, [{ ...OTHER, baseUrl: 'OTHER_HOST' }])).toThrow('OTHER_HOST');
  });
});
