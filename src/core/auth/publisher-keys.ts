import { createApiKeyVerifier } from './api-keys.ts';

/** Publisher keys (PUBLISHERS): each opens the publish API of one namespace. */
export interface PublisherKeys {
  /** Every namespace with a key, in configuration order, once each. */
  readonly namespaces: readonly string[];
  /** The namespace the presented key publishes to, or null; checked in constant time like API keys. */
  verify(presented: string): Promise<string | null>;
}

/** The same digest comparison as API keys (every key every time), mapped to each key's namespace. */
export function createPublisherKeys(entries: readonly { namespace: string; key: string }[]): PublisherKeys {
  const keys = createApiKeyVerifier(entries.map((entry) => entry.key));
  return {
    namespaces: [...new Set(entries.map((entry) => entry.namespace))],
    async verify(presented) {
      const id = await keys.verify(presented);
      return id === null ? null : (entries[Number(id.slice('key-'.length)) - 1]?.namespace ?? null);
    },
  };
}
