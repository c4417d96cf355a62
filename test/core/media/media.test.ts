import { describe, expect, it } from 'vitest';
import { type MediaSource, credentialFor, jobMedia, mediaUrlAllowed, mediaUrls } from '../../../src/core/media/media.ts';
import { falMedia } from '../../../src/profiles/fal-queue/media.ts';
import { midjourneyMedia } from '../../../src/profiles/midjourney-v3/media.ts';

const mjEvent = (urls: string[], extra: Record<string, unknown> = {}) =>
  JSON.stringify({ event: 'midjourney_completed', job: { response: { imageUx: urls.map((url) => ({ url })), ...extra } } });

describe('a job’s media', () => {
  it('are the URLs of the profile’s media fields, in order, without duplicates or non-http values', () => {
    const data = mjEvent(['https://cdn.midjourney.com/a.png', 'https://cdn.midjourney.com/b.png'], {
      attachments: [{ url: 'https://cdn.discordapp.com/grid.png' }, { url: 'javascript:alert(1)' }, { url: 42 }],
      videoUx: [{ url: 'https://cdn.midjourney.com/a.png' }],
      content: 'https://elsewhere.example/not-media.png',
    });
    expect(mediaUrls(midjourneyMedia, data)).toEqual([
      'https://cdn.midjourney.com/a.png',
      'https://cdn.midjourney.com/b.png',
      'https://cdn.discordapp.com/grid.png',
    ]);
    expect(mediaUrls(midjourneyMedia, 'not json')).toEqual([]);
    expect(mediaUrls(undefined, data)).toEqual([]);
    const fal = { status: 'COMPLETED', result: { status: 200, body: { images: [{ url: 'https://v3.fal.media/files/x.png' }] } } };
    expect(mediaUrls(falMedia, fal)).toEqual(['https://v3.fal.media/files/x.png']);
    expect(mediaUrls(falMedia, { ...fal, result: { status: 422, body: fal.result.body } })).toEqual([]);
  });

  it('come from the latest job object, else from the newest event naming any (events read only then)', async () => {
    let reads = 0;
    const events = async () => {
      reads++;
      return [mjEvent(['https://cdn.midjourney.com/old.png']), mjEvent(['https://cdn.midjourney.com/new.png']), '{"event":"x"}'];
    };
    const snapshot = { response: { imageUx: [{ url: 'https://cdn.midjourney.com/snap.png' }] } };
    expect(await jobMedia(midjourneyMedia, snapshot, events)).toEqual(['https://cdn.midjourney.com/snap.png']);
    expect(reads).toBe(0);
    expect(await jobMedia(midjourneyMedia, { status: 'progress' }, events)).toEqual(['https://cdn.midjourney.com/new.png']);
    expect(await jobMedia(undefined, null, events)).toEqual([]);
    expect(reads).toBe(1);
  });
});

describe('allowed media hosts', () => {
  const source: MediaSource = {
    media: { urls: () => [], hosts: ['cdn.example.com', '.media.example'], credentialHosts: ['cdn.example.com', 'http://127.0.0.1:9'] },
    origins: ['http://127.0.0.1:9'],
    credentialHeaders: { Authorization: 'Bearer k' },
  };
  const allowed = (url: string) => mediaUrlAllowed(source, new URL(url));

  it('match hosts exactly or by subdomain, https on the default port only; origins exactly', () => {
    expect(allowed('https://cdn.example.com/a.png')).toBe(true);
    expect(allowed('https://v3.media.example/a.png')).toBe(true);
    expect(allowed('http://127.0.0.1:9/a.png')).toBe(true);
    for (const url of [
      'http://cdn.example.com/a.png',
      'https://cdn.example.com:8443/a.png',
      'https://media.example/a.png',
      'https://cdn.example.com.evil.example/a.png',
      'https://evilmedia.example/a.png',
      'https://user:pw@cdn.example.com/a.png',
      'http://127.0.0.1:10/a.png',
    ])
      expect(allowed(url), url).toBe(false);
  });

  it('give the credential only to its hosts', () => {
    expect(credentialFor(source, new URL('https://cdn.example.com/a'))).toEqual({ Authorization: 'Bearer k' });
    expect(credentialFor(source, new URL('http://127.0.0.1:9/a'))).toEqual({ Authorization: 'Bearer k' });
    expect(credentialFor(source, new URL('https://v3.media.example/a'))).toEqual({});
    expect(credentialFor(source, new URL('http://cdn.example.com/a'))).toEqual({});
  });
});
