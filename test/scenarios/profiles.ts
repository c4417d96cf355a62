import { createJobId } from '../support/sse.ts';

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
}

export const midjourneyScenarioProfile: ScenarioProfile = {
  name: 'midjourney-v3',
  startJob: (url, { steps, intervalMs, label }) => createJobId(url, `${label} --sim-steps ${steps} --sim-interval ${intervalMs}`),
  isTerminal: (data) =>
    /^midjourney_(completed|failed|moderated|cancelled)$|^error$/.test(String((JSON.parse(data) as { event?: unknown }).event)),
};

/** Every profile the scenarios run for. */
export const SCENARIO_PROFILES: readonly ScenarioProfile[] = [midjourneyScenarioProfile];
