import type { ReplicateScenario } from './directives.ts';
import type { PredictionRun } from './run.ts';

/** A created prediction and what its answers need. */
export interface PredictionRecord {
  id: string;
  /** `owner/name` (for a create by version: the version string as sent). */
  model: string;
  version: string;
  input: Record<string, unknown>;
  createdAt: number;
  run: PredictionRun;
  scenario: ReplicateScenario;
  /** Language models only: where the stream is, as Replicate gives it to models that stream. */
  streamUrl?: string;
  /** `<origin><base>`: the API base the prediction's own URLs name. */
  apiBase: string;
  /** Whether a stream was opened (`--sim-drop-after` applies to the first only). */
  streamed: boolean;
}

/** Models whose name says they make text stream it token by token; every other one makes images. */
export function isLanguageModel(name: string): boolean {
  return /llama|gpt|mistral|llm/i.test(name);
}

/** Replicate-like ids: 26 characters of lower-case base32. */
export function predictionId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  return Array.from(crypto.getRandomValues(new Uint8Array(26)), (byte) => alphabet[byte % 32]).join('');
}

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

/**
 * The prediction object as `GET /predictions/<id>` answers it; once `retentionMs` has passed since
 * it ended, its input, output and logs are gone (`data_removed`), as Replicate removes an API
 * prediction's data an hour after it ends.
 */
export function predictionObject(record: PredictionRecord, now: number, retentionMs: number): Record<string, unknown> {
  const view = record.run.view();
  const removed = view.completedAt !== undefined && now >= view.completedAt + retentionMs;
  const get = `${record.apiBase}/predictions/${record.id}`;
  const urls: Record<string, string> = { cancel: `${get}/cancel`, get, web: `https://replicate.com/p/${record.id}` };
  if (record.streamUrl) urls.stream = record.streamUrl;
  const metrics =
    view.status === 'succeeded' && view.startedAt !== undefined && view.completedAt !== undefined
      ? { predict_time: (view.completedAt - view.startedAt) / 1000, total_time: (view.completedAt - record.createdAt) / 1000 }
      : {};
  return {
    id: record.id,
    model: record.model,
    version: record.version,
    input: removed ? {} : record.input,
    logs: removed ? '' : view.logs,
    output: removed ? null : view.output,
    data_removed: removed,
    error: view.error,
    status: view.status,
    source: 'api',
    created_at: iso(record.createdAt),
    started_at: iso(view.startedAt),
    completed_at: iso(view.completedAt),
    urls,
    metrics,
  };
}
