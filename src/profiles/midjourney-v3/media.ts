import { isRecord } from '../../core/ingest/event.ts';
import type { ProfileMedia } from '../../core/media/media.ts';

/** The `url` of each entry of a job response's list (`imageUx`, `videoUx`, `attachments`). */
const urlsOf = (list: unknown) => (Array.isArray(list) ? list.map((entry: unknown) => (isRecord(entry) ? entry.url : undefined)) : []);

/**
 * A Midjourney job's media: `response.imageUx` (the four images of a grid, or the upscale), then
 * `videoUx`, then `attachments` (the grid as one image), of an event's `job` or a job object.
 * They are on Midjourney's and Discord's CDNs, which want no credential.
 */
export const midjourneyMedia: ProfileMedia = {
  urls(event) {
    const job = isRecord(event.job) ? event.job : event;
    const response = job.response;
    if (!isRecord(response)) return [];
    return [...urlsOf(response.imageUx), ...urlsOf(response.videoUx), ...urlsOf(response.attachments)];
  },
  hosts: ['cdn.midjourney.com', 'cdn.discordapp.com', 'media.discordapp.net'],
};
