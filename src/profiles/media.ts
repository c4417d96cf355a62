import type { MediaSource } from '../core/media/media.ts';
import type { ProfileEntry } from './entry.ts';

/**
 * Each served profile's media source, by name: its entry's declaration, the vendor credential for
 * the hosts that want it, and `devOrigins` (the in-process simulator's, whose images are on loopback).
 */
export function mediaSources(
  served: ReadonlyArray<{ entry: ProfileEntry; endpoint: { credential: string } }>,
  devOrigins: readonly string[] = [],
): Map<string, MediaSource> {
  return new Map(
    served.map(({ entry, endpoint }) => {
      const wantsCredential = (entry.media?.credentialHosts?.length ?? 0) > 0 && endpoint.credential !== '';
      const source: MediaSource = {
        media: entry.media,
        origins: devOrigins,
        ...(wantsCredential ? { credentialHeaders: entry.profile.authorization(endpoint.credential) } : {}),
      };
      return [entry.profile.name, source];
    }),
  );
}
