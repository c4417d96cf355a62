import { createJobId } from '../support/sse.ts';
import type { ScenarioTarget } from './target.ts';

/**
 * What the profile-neutral scenarios need to know of one upstream profile: how to start a job
 * of a given length through its drop-in create, and which event data is terminal. A new
 * profile adds its entry here (against its simulator) and every runtime runs the scenarios for it.
 */
export interface ScenarioProfile {
  /** The profile's name: `/v1/jobs/<name>/<id>/stream`. */
  name: string;
  /** Starts a job of about `steps` progress events `intervalMs` apart without streaming it; its id. */
  startJob(url: string, options: { steps: number; intervalMs: number; label: string }): Promise<string>;
  /** True for the data of the job's terminal event. */
  isTerminal(data: string): boolean;
  /** Upstream streams the simulator served for this profile so far (default: `simStats().streamsServed`). */
  streamsServed?(target: ScenarioTarget): Promise<number>;
}

export const midjourneyScenarioProfile: ScenarioProfile = {
  name: 'midjourney-v3',
  startJob: (url, { steps, intervalMs, label }) => createJobId(url, `${label} --sim-steps ${steps} --sim-interval ${intervalMs}`),
  isTerminal: (data) =>
    /^midjourney_(completed|failed|moderated|cancelled)$|^error$/.test(String((JSON.parse(data) as { event?: unknown }).event)),
};

/** fal's queue through the gateway's `/fal/queue` submit; the job id is `<owner>:<app>:<request id>`. */
export const falScenarioProfile: ScenarioProfile = {
  name: 'fal-queue',
  async startJob(url, { steps, intervalMs, label }) {
    const response = await fetch(`${url}/fal/queue/fal-ai/flux/dev`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ prompt: `${label} --sim-steps ${steps} --sim-interval ${intervalMs}` }),
    });
    if (response.status !== 200) throw new Error(`submit answered ${response.status}: ${await response.text()}`);
    const { request_id } = (await response.json()) as { request_id: string };
    return `fal-ai:flux:${request_id}`;
  },
  isTerminal: (data) => (JSON.parse(data) as { status?: unknown }).status === 'COMPLETED',
  async streamsServed(target) {
    const stats = await fetch(new URL('/_sim/fal/stats', target.simulatorUrl));
    return ((await stats.json()) as { streamsServed: number }).streamsServed;
  },
};

export const openaiScenarioProfile: ScenarioProfile = {
  name: 'openai-responses',
  async startJob(url, { steps, intervalMs, label }) {
    const response = await fetch(`${url}/openai/v1/responses`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o', input: `${label} --sim-steps ${steps} --sim-interval ${intervalMs}`, background: true }),
    });
    const body = (await response.json()) as { id?: unknown };
    if (response.status !== 200 || typeof body.id !== 'string')
      throw new Error(`create failed: ${response.status} ${JSON.stringify(body)}`);
    return body.id;
  },
  isTerminal: (data) => /^response\.(completed|failed|incomplete)$/.test(String((JSON.parse(data) as { type?: unknown }).type)),
  async streamsServed(target) {
    const stats = await fetch(`${new URL(target.simulatorUrl).origin}/_sim/openai/stats`);
    return ((await stats.json()) as { streamsServed: number }).streamsServed;
  },
};

/** Replicate through the gateway's `/replicate/v1`, a language model (it has a stream); the job id is the prediction's. */
export const replicateScenarioProfile: ScenarioProfile = {
  name: 'replicate',
  async startJob(url, { steps, intervalMs, label }) {
    const response = await fetch(`${url}/replicate/v1/models/meta/llama-sim/predictions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ input: { prompt: `${label} --sim-steps ${steps} --sim-interval ${intervalMs}` } }),
    });
    const body = (await response.json()) as { id?: unknown };
    if (response.status !== 201 || typeof body.id !== 'string')
      throw new Error(`create failed: ${response.status} ${JSON.stringify(body)}`);
    return body.id;
  },
  isTerminal(data) {
    const event = JSON.parse(data) as { event?: unknown; prediction?: { status?: unknown } };
    return event.event === 'done' || (event.event === 'status' && /^(succeeded|failed|canceled)$/.test(String(event.prediction?.status)));
  },
  async streamsServed(target) {
    const stats = await fetch(`${new URL(target.simulatorUrl).origin}/_sim/replicate/stats`);
    return ((await stats.json()) as { streamsServed: number }).streamsServed;
  },
};

/** Every profile the scenarios run for. */
export const SCENARIO_PROFILES: readonly ScenarioProfile[] = [
  midjourneyScenarioProfile,
  openaiScenarioProfile,
  falScenarioProfile,
  replicateScenarioProfile,
];
