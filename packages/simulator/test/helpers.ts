import { createParser } from 'eventsource-parser';
import type { EventSourceMessage } from 'eventsource-parser';
import { startSimulator as serveSimulator } from '../src/node.ts';
import type { Simulator, SimulatorOptions } from '../src/simulator.ts';
import { until } from './until.ts';

/** A simulator behind a real HTTP server on an ephemeral port. */
export interface RunningSimulator {
  sim: Simulator;
  origin: string;
  /** `<origin>/v3/midjourney` */
  base: string;
  close(): Promise<void>;
}

/** Starts a simulator (fast default interval) on 127.0.0.1:0. */
export async function startSimulator(options: SimulatorOptions = {}): Promise<RunningSimulator> {
  const started = await serveSimulator({ defaultIntervalMs: 5, ...options });
  return { sim: started.simulator, origin: started.url, base: `${started.url}/v3/midjourney`, close: started.close };
}

/** Headers of an authenticated JSON request. */
export function authHeaders(token = 'test-token'): Record<string, string> {
  return { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };
}

/** POSTs a JSON body to `<base>/jobs/<verb>`. */
export function postJob(base: string, verb: string, body: unknown, init: RequestInit = {}): Promise<Response> {
  return fetch(`${base}/jobs/${verb}`, { method: 'POST', headers: authHeaders(), body: JSON.stringify(body), ...init });
}

/** A decoded `data:` payload with the fields every valid vendor event has. */
export type VendorEvent = { event: string; seq: number; ts: string } & Record<string, unknown>;

/** Parses a whole SSE body with eventsource-parser. */
export function parseSse(raw: string): EventSourceMessage[] {
  const messages: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (message) => messages.push(message) });
  parser.feed(raw);
  return messages;
}

/** The messages whose data is JSON with a string `event` and an integer `seq`; junk is skipped. */
export function vendorEvents(messages: EventSourceMessage[]): VendorEvent[] {
  const events: VendorEvent[] = [];
  for (const message of messages) {
    let value: unknown;
    try {
      value = JSON.parse(message.data);
    } catch {
      continue;
    }
    const candidate = value as Partial<VendorEvent> | null;
    if (typeof candidate?.event === 'string' && Number.isInteger(candidate.seq)) events.push(candidate as VendorEvent);
  }
  return events;
}

/** Reads a stream response to its end and parses it. */
export async function readStream(response: Response): Promise<{ raw: string; events: VendorEvent[] }> {
  const raw = await response.text();
  return { raw, events: vendorEvents(parseSse(raw)) };
}

/** Reads a stream incrementally: `until(n)` waits for n vendor events in all, `rest()` reads to the end. */
export function streamReader(response: Response): { until(count: number): Promise<VendorEvent[]>; rest(): Promise<VendorEvent[]> } {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  const messages: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (message) => messages.push(message) });
  const pump = async (enough: () => boolean) => {
    while (!enough()) {
      const { done, value } = await reader.read();
      if (done) return;
      parser.feed(decoder.decode(value, { stream: true }));
    }
  };
  return {
    until: async (count) => {
      await pump(() => vendorEvents(messages).length >= count);
      return vendorEvents(messages);
    },
    rest: async () => {
      await pump(() => false);
      return vendorEvents(messages);
    },
  };
}

/** GETs a job by id. */
export async function getJob(base: string, jobid: string): Promise<Response> {
  return fetch(`${base}/jobs/${jobid}`, { headers: authHeaders() });
}

/** Polls GET /jobs/<jobid> until the job reaches `status`; returns the job. */
export async function waitForStatus(base: string, jobid: string, status: string, timeoutMs = 10_000): Promise<Record<string, unknown>> {
  return until(
    async () => (await (await getJob(base, jobid)).json()) as Record<string, unknown>,
    (job) => job.status === status,
    (job) => `job ${jobid} is ${String(job.status)}, expected ${status}`,
    timeoutMs,
  );
}

/** The job object a lifecycle event carries. */
export function jobOf(event: VendorEvent): Record<string, unknown> & { jobid: string; status: string; response?: Record<string, unknown> } {
  return event.job as never;
}
