/** Checks gateway API keys without leaking, by timing, which key or how much of one matched. */
export interface ApiKeyVerifier {
  /** False when no keys are configured: the gateway runs open. */
  readonly enabled: boolean;
  /** The matching key's id (`key-1`, … in configuration order, safe to log), or null. */
  verify(presented: string): Promise<string | null>;
}

async function digest(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
}

/** Compares two equal-length byte arrays in time independent of where they differ. */
function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] ?? 0);
  return diff === 0;
}

/**
 * Compares SHA-256 digests of the presented and configured keys, every key every time, so
 * neither the key length nor the matching prefix nor which key matched shows in the timing.
 */
export function createApiKeyVerifier(keys: readonly string[]): ApiKeyVerifier {
  const digests = Promise.all(keys.map(digest));
  return {
    enabled: keys.length > 0,
    async verify(presented) {
      const candidate = await digest(presented);
      let match = -1;
      for (const [index, known] of (await digests).entries()) {
        if (equalBytes(candidate, known) && match < 0) match = index;
      }
      return match < 0 ? null : `key-${match + 1}`;
    },
  };
}
