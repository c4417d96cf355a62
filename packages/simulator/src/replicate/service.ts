import type { ReplicateScenario } from './directives.ts';
import { type PredictionRecord, isLanguageModel, predictionId, predictionObject } from './prediction.ts';
import { isTerminalStatus, startRun } from './run.ts';

/** What a create asks for, once validated. */
export interface CreateRequest {
  model: string;
  version: string;
  input: Record<string, unknown>;
  scenario: ReplicateScenario;
  /** The origin URLs are built on (the request's, or the simulator's public one). */
  origin: string;
  echoedToken?: string;
}

/** The service's settings. */
export interface ReplicateServiceOptions {
  basePath: string;
  streamPath: string;
  defaultSteps: number;
  defaultIntervalMs: number;
  /** How long a prediction keeps its data after it ends, unless `--sim-retention` says (Replicate: one hour). */
  retentionMs: number;
  now: () => number;
}

/** Predictions kept before the oldest ended ones are forgotten, so long runs do not grow memory forever. */
const MAX_PREDICTIONS = 10_000;

/** The predictions the simulator runs and remembers. */
export interface ReplicateService {
  create(request: CreateRequest): PredictionRecord;
  find(id: string): PredictionRecord | undefined;
  /** Newest first, at most 100. */
  list(): PredictionRecord[];
  view(record: PredictionRecord): Record<string, unknown>;
  retentionOf(record: PredictionRecord): number;
  /** Resolves when the prediction has ended, after `timeoutMs`, or when `signal` aborts. */
  settled(record: PredictionRecord, timeoutMs: number, signal: AbortSignal): Promise<void>;
  running(): number;
  close(): void;
}

export function createReplicateService(options: ReplicateServiceOptions): ReplicateService {
  const records = new Map<string, PredictionRecord>();
  const retentionOf = (record: PredictionRecord) => record.scenario.retentionMs ?? options.retentionMs;
  const forgetOldest = () => {
    for (const [id, old] of records) {
      if (records.size <= MAX_PREDICTIONS) break;
      if (isTerminalStatus(old.run.view().status)) records.delete(id);
    }
  };
  return {
    create(request) {
      const id = predictionId();
      const language = isLanguageModel(request.model);
      const prompt = typeof request.input.prompt === 'string' ? request.input.prompt : '';
      const steps = request.scenario.steps ?? options.defaultSteps;
      const run = startRun({
        id,
        language,
        prompt,
        scenario: request.scenario,
        steps,
        intervalMs: request.scenario.intervalMs ?? options.defaultIntervalMs,
        imageUrls: [`${request.origin}/_sim/images/${id}/1.png`],
        ...(request.echoedToken === undefined ? {} : { echoedToken: request.echoedToken }),
        now: options.now,
      });
      const record: PredictionRecord = {
        id,
        model: request.model,
        version: request.version,
        input: request.input,
        createdAt: options.now(),
        run,
        scenario: request.scenario,
        apiBase: `${request.origin}${options.basePath}`,
        streamed: false,
        ...(language ? { streamUrl: `${request.origin}${options.streamPath}/predictions/${id}` } : {}),
      };
      records.set(id, record);
      forgetOldest();
      return record;
    },
    find: (id) => records.get(id),
    list: () => [...records.values()].reverse().slice(0, 100),
    view: (record) => predictionObject(record, options.now(), retentionOf(record)),
    retentionOf,
    settled(record, timeoutMs, signal) {
      return new Promise<void>((resolve) => {
        if (isTerminalStatus(record.run.view().status)) return resolve();
        const done = () => {
          clearTimeout(timer);
          off();
          signal.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, timeoutMs);
        const off = record.run.subscribe((event) => {
          if (event.event === 'done') done();
        });
        signal.addEventListener('abort', done, { once: true });
      });
    },
    running: () => [...records.values()].filter((record) => !isTerminalStatus(record.run.view().status)).length,
    close() {
      for (const record of records.values()) record.run.stop();
    },
  };
}
