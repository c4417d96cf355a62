import { newPublishedJob, publishJson, publishNdjson } from '../support/publisher.ts';
import type { ScenarioProfile } from './profiles.ts';

/** NDJSON requests the scenario publisher opened: a published job has no upstream, its publisher's one streamed request stands for it. */
let streamsOpened = 0;

/**
 * A published job in the `render` namespace (the target runs with PUBLISHERS from test/support/publisher.ts):
 * its first event by a JSON publish, the rest streamed as NDJSON over one request, `intervalMs` apart,
 * the last one terminal (`"done": true`).
 */
export const publishedScenarioProfile: ScenarioProfile = {
  name: 'render',
  async startJob(url, { steps, intervalMs, label }) {
    const jobId = newPublishedJob(label);
    const first = await publishJson(url, jobId, { data: { step: 0 }, event: 'progress' });
    if (first.status !== 200) throw new Error(`publish answered ${first.status}: ${JSON.stringify(first.body)}`);
    const rest = Array.from({ length: steps }, (_, i) => ({
      data: { step: i + 1, ...(i === steps - 1 ? { done: true } : {}) },
      terminal: i === steps - 1,
    }));
    streamsOpened++;
    void publishNdjson(url, jobId, rest, { intervalMs }).catch(() => undefined);
    return jobId;
  },
  isTerminal: (data) => (JSON.parse(data) as { done?: unknown }).done === true,
  streamsServed: async () => streamsOpened,
};
