import { SignJWT, UnsecuredJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { TOKEN_AUDIENCE, createSubscribeTokens } from '../../../src/core/auth/subscribe-token.ts';
import { RelayError } from '../../../src/core/errors.ts';

const secret = new TextEncoder().encode('s'.repeat(32));
let clock = 1_800_000_000;
const tokens = createSubscribeTokens({ secret, defaultTtlS: 60, now: () => clock });

async function rejection(token: string): Promise<RelayError> {
  try {
    await tokens.verify(token);
  } catch (err) {
    if (err instanceof RelayError) return err;
    throw err;
  }
  throw new Error('token was accepted');
}

describe('subscribe tokens', () => {
  it('round-trips the job list and expiry', async () => {
    const { token, expiresAt } = await tokens.issue(['j1', 'j2']);
    expect(expiresAt).toBe(clock + 60);
    expect(await tokens.verify(token)).toEqual(['j1', 'j2']);
  });

  it('rejects an expired token', async () => {
    const { token } = await tokens.issue(['j1'], 10);
    clock += 11;
    const err = await rejection(token);
    expect(err.code).toBe('unauthorized');
    expect(err.message).toMatch(/expired/);
  });

  it('rejects a tampered payload or signature', async () => {
    const { token } = await tokens.issue(['j1']);
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), jobs: ['j2'] })).toString(
      'base64url',
    );
    expect((await rejection(`${header}.${forged}.${signature}`)).message).toMatch(/signature/);
    const flipped = signature.slice(0, -2) + (signature.endsWith('AA') ? 'BB' : 'AA');
    expect((await rejection(`${header}.${payload}.${flipped}`)).message).toMatch(/signature|malformed/);
  });

  it('rejects alg:none and other algorithms', async () => {
    const none = new UnsecuredJWT({ jobs: ['j1'] })
      .setAudience(TOKEN_AUDIENCE)
      .setIssuedAt(clock)
      .setExpirationTime(clock + 60)
      .encode();
    expect((await rejection(none)).message).toMatch(/algorithm/);
    const hs512 = await new SignJWT({ jobs: ['j1'] })
      .setProtectedHeader({ alg: 'HS512' })
      .setAudience(TOKEN_AUDIENCE)
      .setIssuedAt(clock)
      .setExpirationTime(clock + 60)
      .sign(new Uint8Array(64).fill(115));
    expect((await rejection(hs512)).message).toMatch(/algorithm/);
  });

  it('rejects a token signed with another secret, for another audience, or without claims', async () => {
    const other = createSubscribeTokens({ secret: new TextEncoder().encode('o'.repeat(32)), defaultTtlS: 60, now: () => clock });
    expect((await rejection((await other.issue(['j1'])).token)).message).toMatch(/signature/);
    const audience = await new SignJWT({ jobs: ['j1'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setAudience('elsewhere')
      .setIssuedAt(clock)
      .setExpirationTime(clock + 60)
      .sign(secret);
    expect((await rejection(audience)).message).toMatch(/aud/);
    const noExp = await new SignJWT({ jobs: ['j1'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setAudience(TOKEN_AUDIENCE)
      .setIssuedAt(clock)
      .sign(secret);
    expect((await rejection(noExp)).code).toBe('unauthorized');
    const noJobs = await new SignJWT({ jobs: 'j1' })
      .setProtectedHeader({ alg: 'HS256' })
      .setAudience(TOKEN_AUDIENCE)
      .setIssuedAt(clock)
      .setExpirationTime(clock + 60)
      .sign(secret);
    expect((await rejection(noJobs)).message).toMatch(/no jobs/);
    for (const junk of ['', 'abc', 'a.b.c', '...', 'eyJ.eyJ.x']) expect((await rejection(junk)).code).toBe('unauthorized');
  });

  it('refuses a short secret', () => {
    expect(() => createSubscribeTokens({ secret: new Uint8Array(16), defaultTtlS: 60 })).toThrow(/32 bytes/);
  });
});
