import { isRecord } from '../../core/ingest/event.ts';
import type { ProfileMedia } from '../../core/media/media.ts';

const urlOf = (file: unknown) => (isRecord(file) ? file.url : undefined);

/**
 * A fal request's media: its stored result's `images[].url`, then `image.url` and `video.url`
 * (the output shapes of fal's image and video models). fal's CDN serves them without the key.
 */
export const falMedia: ProfileMedia = {
  urls(event) {
    const result = isRecord(event.result) ? event.result : undefined;
    const body = result?.status === 200 && isRecord(result.body) ? result.body : undefined;
    if (!body) return [];
    const images = Array.isArray(body.images) ? body.images.map(urlOf) : [];
    return [...images, urlOf(body.image), urlOf(body.video)];
  },
  hosts: ['fal.media', '.fal.media'],
};
