import { describe, expect, it } from 'vitest';
import { ConfigError, configSecrets, configVariables, isProduction, loadConfig as load, withDevDefaults } from '../../src/config.ts';
import { FAL_QUEUE_VENDOR_URL } from '../../src/profiles/fal-queue/profile.ts';
import { MIDJOURNEY_VENDOR_URL } from '../../src/profiles/midjourney-v3/profile.ts';

const KEYS = { GATEWAY_API_KEYS: 'key-test-0123456789abcdef' };
/** Most cases are about other variables: they run as `--dev` would (open, simulator). */
const loadConfig = (env: Record<string, string | undefined>) => load(withDevDefaults(env));

describe('loadConfig', () => {
  it('has working defaults: simulator upstream, memory bus, port 8080', () => {
    const config = loadConfig({});
    expect(config.PORT).toBe(8080);
    expect(config.UPSTREAM_URL).toBeUndefined();
    expect(config.REDIS_URL).toBeUndefined();
    expect(config.HEARTBEAT_MS).toBe(15_000);
    expect(config.HISTORY_TTL_S).toBe(86_400);
    expect(config.HISTORY_MAX_EVENTS).toBe(10_000);
  });

  it('names every profile credential when none is set, or when one is set beside SIMULATOR=true', () => {
    expect(() => load({ GATEWAY_OPEN: 'true' })).toThrow(
      /UPSTREAM_TOKEN, FAL_KEY, OPENAI_API_KEY, REPLICATE_API_TOKEN: no upstream configured; set a profile's credential \(UPSTREAM_TOKEN, FAL_KEY, OPENAI_API_KEY or REPLICATE_API_TOKEN, each with its optional base URL: UPSTREAM_URL, FAL_QUEUE_URL, OPENAI_BASE_URL, REPLICATE_BASE_URL\)/,
    );
    for (const credential of ['UPSTREAM_TOKEN', 'OPENAI_API_KEY', 'FAL_KEY', 'REPLICATE_API_TOKEN']) {
      expect(() => load({ GATEWAY_OPEN: 'true', SIMULATOR: 'true', [credential]: 'credential-0123456789' })).toThrow(
        'SIMULATOR: cannot be combined with an upstream credential',
      );
    }
  });

  it("lists every profile's variables beside the gateway's: credentials secret, base URLs defaulting to the vendor's", () => {
    const byName = new Map(configVariables().map((variable) => [variable.name, variable]));
    for (const credential of ['UPSTREAM_TOKEN', 'FAL_KEY', 'OPENAI_API_KEY', 'REPLICATE_API_TOKEN'])
      expect(byName.get(credential)?.secret).toBe(true);
    expect(byName.get('UPSTREAM_URL')).toEqual({ name: 'UPSTREAM_URL', default: MIDJOURNEY_VENDOR_URL, secret: false });
    expect(byName.get('FAL_QUEUE_URL')?.default).toBe(FAL_QUEUE_VENDOR_URL);
    expect(byName.get('SUBSCRIBE_TOKEN_SECRET')?.secret).toBe(true);
    expect(byName.get('HEARTBEAT_MS')).toEqual({ name: 'HEARTBEAT_MS', default: '15000', secret: false });
  });

  it("gives the redactor every secret set: the gateway's and each profile's credential", () => {
    const config = load({
      ...KEYS,
      SUBSCRIBE_TOKEN_SECRET: 's'.repeat(32),
      UPSTREAM_TOKEN: 'tok-12345678',
      FAL_KEY: 'fal-key-12345',
      OPENAI_API_KEY: 'sk-openai-12345',
    });
    expect(configSecrets(config).sort()).toEqual(
      [KEYS.GATEWAY_API_KEYS, 's'.repeat(32), 'tok-12345678', 'fal-key-12345', 'sk-openai-12345'].sort(),
    );
  });

  it('takes TLS_CERT_FILE and TLS_KEY_FILE together or not at all', () => {
    expect(loadConfig({ TLS_CERT_FILE: '/c.pem', TLS_KEY_FILE: '/k.pem' })).toMatchObject({
      TLS_CERT_FILE: '/c.pem',
      TLS_KEY_FILE: '/k.pem',
    });
    for (const one of [{ TLS_CERT_FILE: '/c.pem' }, { TLS_KEY_FILE: '/k.pem' }])
      expect(() => loadConfig(one)).toThrow('TLS_CERT_FILE, TLS_KEY_FILE: set both (HTTP/2 over TLS) or neither');
    expect(loadConfig({}).MEDIA_MAX_BYTES).toBe(50 * 1024 * 1024);
  });

  it('ignores empty values and unrelated variables', () => {
    expect(loadConfig({ PORT: '', PATH: '/bin', HOME: '/root' }).PORT).toBe(8080);
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ HEARTBEAT_MS: '5' }, 'HEARTBEAT_MS'],
    [{ HISTORY_TTL_S: '-1' }, 'HISTORY_TTL_S'],
    [{ UPSTREAM_URL: 'ftp://x', UPSTREAM_TOKEN: 'token-123' }, 'UPSTREAM_URL'],
    [{ REDIS_URL: 'http://localhost' }, 'REDIS_URL'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ UPSTREAM_URL: 'https://api.example.com' }, 'UPSTREAM_TOKEN'],
    [{ UPSTREAM_TOKEN: 'short' }, 'UPSTREAM_TOKEN'],
    [{ GATEWAY_API_KEYS: 'short' }, 'GATEWAY_API_KEYS'],
    [{ SUBSCRIBE_TOKEN_SECRET: 'too-short' }, 'SUBSCRIBE_TOKEN_SECRET'],
    [{ CORS_ORIGINS: 'https://app.example.com/path' }, 'CORS_ORIGINS'],
    [{ CORS_ORIGINS: '*' }, 'CORS_ORIGINS'],
    [{ SUBSCRIBE_PUBLIC: 'yes' }, 'SUBSCRIBE_PUBLIC'],
    [{ MAX_SUBSCRIBERS_PER_IP: '-1' }, 'MAX_SUBSCRIBERS_PER_IP'],
    [{ NODE_ENV: 'production', SUBSCRIBE_TOKEN_SECRET: 'x'.repeat(32) }, 'GATEWAY_OPEN'],
    [{ NODE_ENV: 'production', GATEWAY_API_KEYS: 'k'.repeat(16) }, 'SUBSCRIBE_TOKEN_SECRET'],
    [{ GATEWAY_OPEN: 'yes' }, 'GATEWAY_OPEN'],
    [{ SIMULATOR: 'on' }, 'SIMULATOR'],
  ])('rejects %j naming the variable', (env, name) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(name);
  });

  it('never echoes a secret value in its error', () => {
    for (const env of [
      { UPSTREAM_TOKEN: 'tok-secret-value', PORT: 'x' },
      { GATEWAY_API_KEYS: 'good-key-0123456789,tok-secret-value bad' },
      { SUBSCRIBE_TOKEN_SECRET: 'tok-secret-value' },
    ]) {
      expect(() => loadConfig(env)).toThrow(ConfigError);
      try {
        loadConfig(env);
      } catch (err) {
        expect(String(err)).not.toContain('tok-secret-value');
        expect(String(err)).not.toContain('good-key');
      }
    }
  });

  it('parses the security settings with safe defaults (open in development)', () => {
    const config = loadConfig({});
    expect(config.GATEWAY_API_KEYS).toEqual([]);
    expect(config.SUBSCRIBE_PUBLIC).toBe(false);
    expect(config.CORS_ORIGINS).toEqual([]);
    expect(config.ALLOW_REPLY_URL).toBe(false);
    expect(config.MAX_PROMPT_CHARS).toBe(5000);
    expect(config.TRUST_PROXY).toBe(false);
    const set = loadConfig({
      NODE_ENV: 'production',
      SIMULATOR: 'true',
      GATEWAY_API_KEYS: ' key-aaaaaaaaaaaaaaaa , key-bbbbbbbbbbbbbbbb ,',
      SUBSCRIBE_TOKEN_SECRET: 'x'.repeat(32),
      CORS_ORIGINS: 'https://app.example.com,http://localhost:3000',
    });
    expect(set.GATEWAY_API_KEYS).toEqual(['key-aaaaaaaaaaaaaaaa', 'key-bbbbbbbbbbbbbbbb']);
    expect(set.CORS_ORIGINS).toEqual(['https://app.example.com', 'http://localhost:3000']);
  });

  it('host defaults to loopback in open mode and to every interface with API keys', () => {
    expect(loadConfig({}).HOST).toBe('127.0.0.1');
    expect(load({ ...KEYS, SIMULATOR: 'true' }).HOST).toBe('0.0.0.0');
    expect(loadConfig({ HOST: '0.0.0.0' }).HOST).toBe('0.0.0.0');
  });
});

describe('modes: open and the simulator are asked for, never fallen back to', () => {
  const refuses = (env: Record<string, string>, name: string) => {
    expect(() => load(env)).toThrow(ConfigError);
    expect(() => load(env)).toThrow(name);
  };

  it('refuses to start without API keys unless GATEWAY_OPEN=true', () => {
    refuses({ SIMULATOR: 'true' }, 'GATEWAY_API_KEYS');
    refuses({ UPSTREAM_TOKEN: 'tok-12345678' }, 'GATEWAY_OPEN=true');
    expect(load({ SIMULATOR: 'true', GATEWAY_OPEN: 'true' }).GATEWAY_OPEN).toBe(true);
    refuses({ ...KEYS, SIMULATOR: 'true', GATEWAY_OPEN: 'true' }, 'GATEWAY_OPEN');
  });

  it('refuses to fall back to the simulator: no upstream needs SIMULATOR=true', () => {
    refuses({ ...KEYS }, 'SIMULATOR=true');
    refuses({ ...KEYS, NODE_ENV: 'production', SUBSCRIBE_TOKEN_SECRET: 'x'.repeat(32) }, 'UPSTREAM_URL');
    refuses({ ...KEYS, SIMULATOR: 'true', UPSTREAM_TOKEN: 'tok-12345678' }, 'SIMULATOR');
    const sim = load({ ...KEYS, NODE_ENV: 'production', SUBSCRIBE_TOKEN_SECRET: 'x'.repeat(32), SIMULATOR: 'true' });
    expect(sim.SIMULATOR).toBe(true);
    expect(sim.UPSTREAM_URL).toBeUndefined();
  });

  it.each(['production', 'Production', 'PRODUCTION', 'prod', ' production', 'production ', 'staging', 'live'])(
    'NODE_ENV=%j is production: never open, token secret required',
    (nodeEnv) => {
      expect(isProduction(nodeEnv)).toBe(true);
      refuses({ NODE_ENV: nodeEnv, GATEWAY_OPEN: 'true', SIMULATOR: 'true' }, 'GATEWAY_OPEN: not allowed');
      refuses({ NODE_ENV: nodeEnv, ...KEYS, SIMULATOR: 'true' }, 'SUBSCRIBE_TOKEN_SECRET');
    },
  );

  it.each([undefined, '', 'development', 'Dev', ' test ', 'local'])('NODE_ENV=%j is not production', (nodeEnv) => {
    expect(isProduction(nodeEnv)).toBe(false);
  });

  it('--dev asks for open mode and the simulator only where nothing else is configured', () => {
    expect(withDevDefaults({})).toEqual({ GATEWAY_OPEN: 'true', SIMULATOR: 'true' });
    expect(withDevDefaults({ ...KEYS, UPSTREAM_TOKEN: 'tok-12345678' })).toEqual({ ...KEYS, UPSTREAM_TOKEN: 'tok-12345678' });
    expect(withDevDefaults({ GATEWAY_OPEN: 'false' }).GATEWAY_OPEN).toBe('false');
    // `NODE_ENV=production npm start` gets neither: it must configure keys and an upstream.
    expect(withDevDefaults({ NODE_ENV: 'Production' })).toEqual({ NODE_ENV: 'Production' });
  });
});
