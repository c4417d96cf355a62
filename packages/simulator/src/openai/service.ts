import type { CreateRequest } from './create-request.ts';
import type { OpenAIScenario } from './directives.ts';
import type { ResponseObject } from './response-object.ts';
import type { ResponseRecord } from './response-record.ts';
import { isVisible } from './response-record.ts';
import { createResponseStore } from './response-store.ts';
import { openResponseStream } from './response-stream.ts';
import type { ResponseStreamOptions } from './response-stream.ts';
import { startResponse } from './start-response.ts';
import type { OpenAIStatsRecorder } from './stats.ts';

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
  /** Clears every timer and ends every open stream and pending answer. */
  close(): void;
}

/** Something open that `close()` must end: a stream, or a synchronous create waiting for its response. */
type Closable = { readonly closed: boolean; close(): void };

/** Creates the service with an empty store. */
export function createOpenAIService(options: OpenAIServiceOptions): OpenAIService {
  const { stats } = options;
  const store = createResponseStore();
  const open = new Set<Closable>();
  const track = (closable: Closable) => {
    for (const item of open) if (item.closed) open.delete(item);
    open.add(closable);
  };
  const stream = (settings: ResponseStreamOptions) => {
    const opened = openResponseStream(settings);
    track(opened);
    stats.streamOpened();
    return opened.body;
  };
  const finished = (record: ResponseRecord) =>
    new Promise<ResponseObject>((resolve) => {
      const done = () => resolve(record.state.response);
      record.log.subscribe(-1, { event: () => {}, end: done });
      track({
        get closed() {
          return record.log.ended;
        },
        close: done,
      });
    });

  return {
    create({ request, scenario, apiKey }) {
      const running = store.runningCount();
      if (running >= options.maxJobs) return { ok: false, running };
      const record = startResponse({ ...options, request, scenario, apiKey, onSettled: store.settled });
      store.add(record);
      stats.responseCreated();
      if (request.stream) {
        const { dropAfter, silentAfter, garbage } = scenario;
        const body = stream({
          log: record.log,
          after: -1,
          includeObfuscation: request.includeObfuscation,
          garbage,
          dropAfter,
          silentAfter,
        });
        return { ok: true, record, stream: body };
      }
      if (request.background) return { ok: true, record };
      return { ok: true, record, finished: finished(record) };
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
    close() {
      for (const record of store.all()) record.run.stop();
      for (const item of open) item.close();
      open.clear();
    },
  };
}
