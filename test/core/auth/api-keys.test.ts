import { describe, expect, it } from 'vitest';
import { createApiKeyVerifier } from '../../../src/core/auth/api-keys.ts';

describe('createApiKeyVerifier', () => {
  const verifier = createApiKeyVerifier(['key-aaaaaaaaaaaaaaaa', 'key-bbbbbbbbbbbbbbbb']);

  it('names the matching key by position, never by value', async () => {
    expect(verifier.enabled).toBe(true);
    expect(await verifier.verify('key-aaaaaaaaaaaaaaaa')).toBe('key-1');
    expect(await verifier.verify('key-bbbbbbbbbbbbbbbb')).toBe('key-2');
  });

  it('rejects prefixes, extensions, case changes and empty keys', async () => {
    for (const wrong of ['key-aaaaaaaaaaaaaaa', 'key-aaaaaaaaaaaaaaaaa', 'KEY-AAAAAAAAAAAAAAAA', '', ' key-aaaaaaaaaaaaaaaa']) {
      expect(await verifier.verify(wrong)).toBeNull();
    }
  });

  it('is disabled with no keys', async () => {
    const open = createApiKeyVerifier([]);
    expect(open.enabled).toBe(false);
    expect(await open.verify('anything')).toBeNull();
  });
});
