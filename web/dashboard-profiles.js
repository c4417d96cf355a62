/**
 * What the dashboard knows of each profile: how to start a job from a prompt (open mode), and
 * what a job's events mean for its card (status, progress, result). A profile served by the
 * gateway but missing here is watched (its events logged) but not offered in the form.
 */

/** POSTs JSON to the gateway; the JSON answer, or an Error with the gateway's message. */
async function post(path, body) {
  const response = await fetch(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = answer.error;
    throw new Error(typeof error === 'string' ? error : (error?.message ?? answer.detail ?? `HTTP ${response.status}`));
  }
  return answer;
}

/** The card's state after an event; each profile's `apply` fills it. */
export function emptyView() {
  return { status: 'waiting', progress: 0, media: 0, text: undefined, buttons: [], prompt: undefined, failed: false };
}

const MIDJOURNEY_TERMINAL_FAILURES = ['midjourney_failed', 'midjourney_moderated', 'midjourney_cancelled', 'error'];

export const PROFILES = {
  'midjourney-v3': {
    label: 'Midjourney (imagine)',
    async start(prompt) {
      return (await post('/v3/midjourney/jobs/imagine', { prompt, stream: false })).jobid;
    },
    /** A follow-up job from a completed one's button (U1…U4 upscale, V1…V4 vary, 🔄 reroll). */
    async button(jobId, button) {
      return (await post('/v3/midjourney/jobs/button', { jobId, button, stream: false })).jobid;
    },
    apply(view, event) {
      const job = event.job ?? {};
      const response = job.response ?? {};
      view.status = job.status ?? event.event ?? view.status;
      view.prompt ??= job.request?.prompt ?? (job.request?.button ? `${job.request.button} of ${job.request.jobId}` : undefined);
      if (typeof response.progress_percent === 'number') view.progress = response.progress_percent;
      if (Array.isArray(response.imageUx)) view.media = response.imageUx.length;
      if (Array.isArray(response.buttons)) view.buttons = response.buttons;
      if (event.event === 'midjourney_completed') view.progress = 100;
      if (MIDJOURNEY_TERMINAL_FAILURES.includes(event.event)) view.failed = true;
    },
    /** After a gap: the job object re-read. */
    applyLatest(view, job) {
      this.apply(view, { job });
    },
    summary: (event) => event.event ?? '?',
  },
  'openai-responses': {
    label: 'OpenAI (responses)',
    async start(prompt) {
      return (await post('/openai/v1/responses', { model: 'gpt-4o', input: prompt, background: true })).id;
    },
    apply(view, event) {
      if (event.response?.status) view.status = event.response.status;
      view.text ??= '';
      if (event.type === 'response.output_text.delta') view.text += event.delta ?? '';
      if (event.type === 'response.output_text.done' && typeof event.text === 'string') view.text = event.text;
      if (event.type === 'response.in_progress') view.progress = undefined;
      if (event.type === 'response.completed') view.progress = 100;
      if (event.type === 'response.failed' || event.type === 'response.incomplete' || event.type === 'error') view.failed = true;
    },
    /** After a gap: the response object re-read; its text so far replaces the deltas missed. */
    applyLatest(view, response) {
      if (response.status) view.status = response.status;
      const parts = (response.output ?? []).flatMap((item) => item.content ?? []).filter((part) => part.type === 'output_text');
      if (parts.length > 0) view.text = parts.map((part) => part.text).join('');
    },
    summary: (event) => (event.type === 'response.output_text.delta' ? `delta ${JSON.stringify(event.delta)}` : (event.type ?? '?')),
  },
  'fal-queue': {
    label: 'fal (flux/dev)',
    async start(prompt) {
      const submitted = await post('/fal/queue/fal-ai/flux/dev', { prompt });
      return `fal-ai:flux:${submitted.request_id}`;
    },
    apply(view, event) {
      view.status = event.status ?? view.status;
      for (const line of event.logs ?? []) {
        const step = /step (\d+)\/(\d+)/.exec(line.message ?? '');
        if (step) view.progress = Math.round((100 * Number(step[1])) / Number(step[2]));
      }
      if (event.status === 'IN_PROGRESS' && view.progress === 0) view.progress = undefined;
      if (event.status === 'COMPLETED') {
        view.progress = 100;
        const images = event.result?.body?.images;
        if (Array.isArray(images)) view.media = images.length;
        if (event.result?.status >= 400 || event.error) view.failed = true;
        view.prompt ??= event.result?.body?.prompt;
      }
    },
    applyLatest(view, status) {
      this.apply(view, status);
    },
    summary: (event) => event.status ?? '?',
  },
  replicate: {
    label: 'Replicate (llama, text)',
    async start(prompt) {
      return (await post('/replicate/v1/models/meta/llama-sim/predictions', { input: { prompt } })).id;
    },
    apply(view, event) {
      if (event.prediction?.status) view.status = event.prediction.status;
      view.prompt ??= event.prediction?.input?.prompt;
      view.text ??= '';
      if (event.event === 'output' && typeof event.data === 'string') view.text += event.data;
      if (event.event === 'status' && view.status === 'processing') view.progress = undefined;
      if (event.event === 'done') {
        const output = event.prediction?.output;
        if (Array.isArray(output) && output.every((piece) => typeof piece === 'string')) view.text = output.join('');
        if (event.prediction?.status === 'succeeded') view.progress = 100;
        else view.failed = true;
      }
    },
    /** After a gap: the prediction re-read; its output so far replaces the pieces missed. */
    applyLatest(view, prediction) {
      if (prediction.status) view.status = prediction.status;
      if (Array.isArray(prediction.output) && prediction.output.every((piece) => typeof piece === 'string'))
        view.text = prediction.output.join('');
    },
    summary: (event) => (event.event === 'output' ? `output ${JSON.stringify(event.data)}` : (event.event ?? '?')),
  },
};
