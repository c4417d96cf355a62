import type { CreateRequest } from './create-request.ts';
import type { OpenAIScenario } from './directives.ts';
import { echoSuffix } from './errors.ts';
import { createEventLog } from './event-log.ts';
import { createResponseObject } from './response-object.ts';
import type { ResponseObject } from './response-object.ts';
import type { ResponseRecord } from './response-record.ts';
import { isVisible } from './response-record.ts';
import { startResponseRun } from './response-run.ts';
import { createResponseState } from './response-state.ts';
import { createResponseStore } from './response-store.ts';
import { openResponseStream } from './response-stream.ts';
import type { ResponseStream, ResponseStreamOptions } from './response-stream.ts';
import { responseScript } from './script.ts';
import type { OpenAIStatsRecorder } from './stats.ts';
import { answerDeltas, countTokens, vendorId } from './text.ts';

/** Limits and defaults applied to every response. */
export interface OpenAIServiceOptions {
  /** Responses queued or in progress at once before a create gets 429. */
  maxJobs: number;
  /** Text deltas of a response whose input says nothing else. */
  defaultSteps: number;
  defaultIntervalMs: number;
  stats: OpenAIStatsRecorder;
  now: () => number;
}

/** The vendor's default resume window: a response can be streamed by GET for 5 minutes (notes §5). */
export const DEFAULT_RESUME_WINDOW_MS = 5 * 60_000;

/** A validated create. */
export interface CreateInput {
  request: CreateRequest;
  scenario: OpenAIScenario;
  /** The caller's key, echoed only under `--sim-echo-token`. */
  apiKey: string;
}

/** A started response with its stream (`stream:true`) or, for a synchronous `stream:false`, its end; or capacity is full. */
export type CreateResult =
  | { ok: true; record: ResponseRecord; stream?: ReadableStream<Uint8Array>; finished?: Promise<ResponseObject> }
  | { ok: false; running: number };

/** The Responses API minus HTTP. */
export interface OpenAIService {
  create(input: CreateInput): CreateResult;
  /** A response GET, cancel and DELETE may see. */
  find(id: string): ResponseRecord | undefined;
  /** A GET `?stream=true` stream of the events after `after`. */
  resume(record: ResponseRecord, after: number, includeObfuscation: boolean): ReadableStream<Uint8Array>;
  /** Cancels (if still running) and forgets a response. */
  delete(record: ResponseRecord): void;
  runningCount(): number;
  /** Clears every timer and ends every open stream. */
  close(): void;
}

/** Creates the service with an empty store. */
export function createOpenAIService(options: OpenAIServiceOptions): OpenAIService {
  const { stats, now } = options;
  const store = createResponseStore();
  const open = new Set<Pick<ResponseStream, 'closed' | 'close'>>();
  const track = (closable: Pick<ResponseStream, 'closed' | 'close'>) => {
    for (const item of open) if (item.closed) open.delete(item);
    open.add(closable);
  };
  const stream = (settings: ResponseStreamOptions) => {
    const opened = openResponseStream(settings);
    track(opened);
    stats.streamOpened();
    return opened.body;
  };

  return {
    create({ request, scenario, apiKey }) {
      const running = store.runningCount();
      if (running >= options.maxJobs) return { ok: false, running };
      const createdAtMs = now();
      const id = vendorId('resp');
      const echoed = scenario.echoToken ? apiKey : undefined;
      const state = createResponseState(createResponseObject(id, createdAtMs, request), countTokens(request.text), now);
      const log = createEventLog();
      const steps = scenario.steps ?? options.defaultSteps;
      const truncated = request.maxOutputTokens !== undefined && request.maxOutputTokens < steps;
      const deltas = answerDeltas(request.text, truncated ? (request.maxOutputTokens ?? 0) : steps);
      if (echoed !== undefined && deltas.length > 0) deltas[0] = `Authorization: Bearer ${echoed}`;
      const run = startResponseRun({
        state,
        log,
        intervalMs: scenario.intervalMs ?? options.defaultIntervalMs,
        script: responseScript({
          background: request.background,
          deltas,
          outcome: truncated && scenario.outcome === 'completed' ? 'incomplete' : scenario.outcome,
          keepalive: scenario.keepalive,
          failureMessage: `Simulated failure: the response could not be generated${echoSuffix(echoed)}`,
        }),
        onSettled: () => store.settled(id),
      });
      const record: ResponseRecord = {
        id,
        state,
        log,
        run,
        background: request.background,
        streamed: request.stream,
        store: request.store,
        createdAtMs,
        resumeWindowMs: scenario.resumeWindowMs ?? DEFAULT_RESUME_WINDOW_MS,
        garbage: scenario.garbage,
      };
      store.add(record);
      stats.responseCreated();
      if (request.stream) {
        const body = stream({
          log,
          after: -1,
          includeObfuscation: request.includeObfuscation,
          garbage: scenario.garbage,
          dropAfter: scenario.dropAfter,
          silentAfter: scenario.silentAfter,
        });
        return { ok: true, record, stream: body };
      }
      if (request.background) return { ok: true, record };
      const finished = new Promise<ResponseObject>((resolve) => {
        const done = () => resolve(state.response);
        log.subscribe(-1, { event: () => {}, end: done });
        track({
          get closed() {
            return log.ended;
          },
          close: done,
        });
      });
      return { ok: true, record, finished };
    },
    find(id) {
      const record = store.get(id);
      return record && isVisible(record) ? record : undefined;
    },
    resume(record, after, includeObfuscation) {
      stats.resumed();
      return stream({ log: record.log, after, includeObfuscation, garbage: record.garbage });
    },
    delete(record) {
      record.run.cancel();
      store.delete(record.id);
    },
    runningCount: () => store.runningCount(),
    close() {
      for (const record of store.all()) record.run.stop();
      for (const item of open) item.close();
      open.clear();
    },
  };
}
