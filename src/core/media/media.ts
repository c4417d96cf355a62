/**
 * A job's media: the result URLs its events name (images, videos), as a profile declares where
 * they are, and the hosts allowed to serve them. The media proxy fetches nothing else.
 */
import { isRecord } from '../ingest/event.ts';

/** Where one profile's media are: declared by the profile's entry (src/profiles/<vendor>/entry.ts). */
export interface ProfileMedia {
  /** The media URLs one stored event names (its parsed data, or a job object), in the vendor's order. */
  urls(event: Record<string, unknown>): readonly unknown[];
  /** Hosts that serve them over https on the default port: `cdn.example.com` exactly, `.example.com` any subdomain. */
  hosts: readonly string[];
  /** Hosts (as in `hosts`) or exact origins that want the vendor credential (the profile's authorization header); default none. */
  credentialHosts?: readonly string[];
}

/** What the media proxy needs of one profile as it is served: its declaration and the runtime's additions. */
export interface MediaSource {
  media: ProfileMedia | undefined;
  /** Exact origins also allowed, over http too, their private addresses included (the simulator's, in dev mode). */
  origins: readonly string[];
  /** The vendor credential's headers, sent only to `media.credentialHosts`; undefined without a credential. */
  credentialHeaders?: Record<string, string>;
}

/** The media URLs one event's JSON names: each an http(s) URL, duplicates dropped, in order. */
export function mediaUrls(media: ProfileMedia | undefined, json: Record<string, unknown> | string | null): string[] {
  if (!media || json === null) return [];
  let value: unknown = json;
  if (typeof json === 'string') {
    try {
      value = JSON.parse(json);
    } catch {
      return [];
    }
  }
  if (!isRecord(value)) return [];
  const found = new Set<string>();
  for (const url of media.urls(value)) if (typeof url === 'string' && /^https?:\/\//i.test(url) && parseUrl(url)) found.add(url);
  return [...found];
}

/**
 * The job's media: those of its latest job object (the snapshot), else of its newest stored event
 * that names any (`events` oldest first, read only when needed). Every URL comes from the job's events.
 */
export async function jobMedia(
  media: ProfileMedia | undefined,
  snapshot: Record<string, unknown> | null,
  events: () => Promise<readonly string[]>,
): Promise<string[]> {
  const latest = mediaUrls(media, snapshot);
  if (latest.length > 0 || !media) return latest;
  const stored = await events();
  for (let i = stored.length - 1; i >= 0; i--) {
    const urls = mediaUrls(media, stored[i] ?? null);
    if (urls.length > 0) return urls;
  }
  return [];
}

/** `text` as a URL (resolved against `base`), or null when it is none. */
export function parseUrl(text: string, base?: URL): URL | null {
  try {
    return new URL(text, base);
  } catch {
    return null;
  }
}

/** A host entry matches: `host` exactly, `.suffix` any subdomain of it (https on the default port both). */
const hostMatches = (url: URL, entry: string) =>
  url.protocol === 'https:' &&
  url.port === '' &&
  (entry.startsWith('.') ? url.hostname.endsWith(entry) && url.hostname.length > entry.length : url.hostname === entry);

/** Whether the proxy may fetch `url` for this source: one of its exact origins, or https on the default port of one of its hosts. */
export function mediaUrlAllowed(source: MediaSource, url: URL): boolean {
  if (url.username !== '' || url.password !== '') return false;
  if (source.origins.includes(url.origin)) return true;
  return (source.media?.hosts ?? []).some((entry) => hostMatches(url, entry));
}

/** The headers that carry the vendor credential to `url`, if its host wants them; none anywhere else. */
export function credentialFor(source: MediaSource, url: URL): Record<string, string> {
  if (!source.credentialHeaders) return {};
  const entries = source.media?.credentialHosts ?? [];
  return entries.some((entry) => entry === url.origin || hostMatches(url, entry)) ? source.credentialHeaders : {};
}
