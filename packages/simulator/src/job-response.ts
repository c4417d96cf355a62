import { GRID_SIZE, TILE_SIZE } from './images.ts';
import { userMention } from './job.ts';
import type { Attachment, Job, JobResponse } from './job.ts';

const GRID_BUTTONS = ['U1', 'U2', 'U3', 'U4', '🔄', 'V1', 'V2', 'V3', 'V4'];
const UPSCALE_BUTTONS = ['Upscale (Subtle)', 'Upscale (Creative)', 'Vary (Subtle)', 'Vary (Strong)', 'Zoom Out 2x', 'Zoom Out 1.5x'];
const SETTINGS_CONTENT: Record<string, string> = {
  settings: 'Adjust your settings here. Current suffix: --v 7',
  info: '**Your info** Subscription: Pro (Active) Job Mode: Fast Visibility Mode: Stealth',
  fast: 'Done! Switching to fast mode.',
  relax: 'Done! Your jobs now do not cost fast-hours, but will take longer to process.',
  turbo: 'Done! Switching to turbo mode.',
  variability: 'Done! High variability mode is now on.',
  remix: 'Remix mode turned on! You can disable it by running `/prefer remix` again.',
};

/** `response` once processing has begun. */
export function startedResponse(job: Job): JobResponse {
  return { content: `**${subject(job)}** - ${userMention()} (Waiting to start)` };
}

/** `response` while rendering, with the vendor's `progress_percent`. */
export function progressResponse(job: Job, percent: number): JobResponse {
  return { content: `**${subject(job)}** - ${userMention()} (${percent}%) (fast)`, progress_percent: percent };
}

/** `response` of a completed job; media URLs are `<mediaBase>/<n>.png` on the simulator's own image route. */
export function completedResponse(job: Job, mediaBase: string): JobResponse {
  const content = `**${subject(job)}** - ${userMention()} (fast)`;
  const button = typeof job.request.button === 'string' ? job.request.button : '';
  const upscale = /^U[1-4]$/.exec(button);
  if (job.verb === 'button' && upscale) {
    const index = Number(button.slice(1));
    return {
      content: `${content} - Image #${index}`,
      attachments: [attachment(mediaBase, index, TILE_SIZE)],
      imageUx: [{ id: 1, url: `${mediaBase}/${index}.png` }],
      buttons: UPSCALE_BUTTONS,
    };
  }
  if (job.verb === 'imagine' || job.verb === 'blend' || job.verb === 'button') {
    return {
      content,
      attachments: [attachment(mediaBase, 0, GRID_SIZE)],
      imageUx: [1, 2, 3, 4].map((id) => ({ id, url: `${mediaBase}/${id}.png` })),
      buttons: GRID_BUTTONS,
    };
  }
  if (job.verb === 'describe') {
    const lines = [1, 2, 3, 4].map((n) => `${n}️⃣ a simulated description number ${n}, soft light --ar 1:1`);
    return { content: lines.join('\n\n'), buttons: ['1', '2', '3', '4', '🔄'] };
  }
  if (job.verb === 'seed') return { content: `**Job ID**: ${String(job.request.jobId ?? '')}\n**seed** 1234567890` };
  return { content: SETTINGS_CONTENT[job.verb] ?? 'Done!' };
}

function attachment(mediaBase: string, index: number, size: number): Attachment {
  const filename = `${mediaBase.slice(mediaBase.lastIndexOf('/') + 1)}_${index}.png`;
  return { url: `${mediaBase}/${index}.png`, filename, width: size, height: size, content_type: 'image/png' };
}

function subject(job: Job): string {
  return typeof job.request.prompt === 'string' ? job.request.prompt : `/${job.verb}`;
}
