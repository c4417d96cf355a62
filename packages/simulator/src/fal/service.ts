import type { FalScenario } from './directives.ts';
import { cancelledAnswer, inputErrors, modelAnswer } from './model.ts';
import { createFalRun } from './request-run.ts';
import type { CancelOutcome } from './request-run.ts';
import { createRunnerPool } from './runner-pool.ts';
import { openStatusStream } from './status-stream.ts';
import type { StatusStream } from './status-stream.ts';
import { queueUrls } from './status.ts';
import { createFalStore } from './store.ts';
import type { FalRecord } from './store.ts';

/** Limits and defaults applied to every request. */
export interface FalServiceOptions {
  maxRunning: number;
  defaultSteps: number;
  defaultIntervalMs: number;
  defaultQueueTicks: number;
  retentionMs: number;
  keepAliveMs: number;
  /** Path that stands for `https://queue.fal.run`, e.g. `/fal/queue`. */
  queuePath: string;
  now: () => number;
}

/** An accepted submit. */
export interface FalSubmit {
  appId: string;
  input: Record<string, unknown>;
  scenario: FalScenario;
  /** The caller's key, echoed only under `--sim-echo-token`. */
  key: string;
  /** `<scheme>://<host>` for the answer's URLs and the image URLs. */
  origin: string;
}

/** fal's queue minus HTTP: submit, look up, cancel, stream. */
export interface FalService {
  submit(request: FalSubmit): FalRecord;
  /** The request if it exists under this `owner/app` and its result has not expired. */
  find(appId: string, requestId: string): FalRecord | undefined;
  cancel(record: FalRecord): CancelOutcome;
  openStream(record: FalRecord, logs: boolean): StatusStream;
  running(): number;
  queued(): number;
  /** Clears every timer and ends every open stream. */
  close(): void;
}

/** Creates the service with an empty store and pool. */
export function createFalService(options: FalServiceOptions): FalService {
  const { now } = options;
  const store = createFalStore();
  const pool = createRunnerPool(options.maxRunning);
  const streams = new Set<StatusStream>();

  return {
    submit({ appId, input, scenario, key, origin }) {
      const requestId = crypto.randomUUID();
      const echoedKey = scenario.echoToken ? key : undefined;
      const request = { requestId, input, outcome: scenario.outcome, imageBase: `${origin}/_sim/images/${requestId}`, echoedKey };
      const run = createFalRun({
        requestId,
        plan: {
          queueTicks: scenario.queue ?? options.defaultQueueTicks,
          // a model that rejects its input fails at once
          steps: inputErrors(input).length > 0 ? 0 : (scenario.steps ?? options.defaultSteps),
          intervalMs: scenario.intervalMs ?? options.defaultIntervalMs,
        },
        answer: (seconds) => modelAnswer(request, seconds),
        cancelled: cancelledAnswer,
        echoedKey,
        now,
        onSettled: (settled) => pool.settled(settled),
      });
      const record: FalRecord = {
        run,
        appId,
        urls: queueUrls(`${origin}${options.queuePath}`, appId, requestId),
        scenario,
        retentionMs: scenario.retentionMs ?? options.retentionMs,
        streamed: false,
      };
      store.add(record);
      pool.enqueue(run);
      return record;
    },
    find(appId, requestId) {
      const record = store.get(requestId, now());
      return record?.appId === appId ? record : undefined;
    },
    cancel: (record) => record.run.cancel(),
    openStream(record, logs) {
      const first = !record.streamed;
      record.streamed = true;
      let ended = false;
      let stream: StatusStream | undefined;
      stream = openStatusStream({
        run: record.run,
        urls: record.urls,
        logs,
        garbage: record.scenario.garbage,
        dropAfter: first ? record.scenario.dropAfter : undefined,
        silentAfter: first ? record.scenario.silentAfter : undefined,
        keepAliveMs: options.keepAliveMs,
        onEnd: () => {
          ended = true;
          if (stream) streams.delete(stream);
        },
      });
      if (!ended) streams.add(stream);
      return stream;
    },
    running: pool.running,
    queued: pool.queued,
    close() {
      for (const record of store.all()) record.run.stop();
      for (const stream of [...streams]) stream.end();
    },
  };
}
