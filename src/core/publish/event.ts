/**
 * A published event: what a publisher sends (`{"data", "event"?, "seq"?, "terminal"?}`), how it is
 * checked, and the envelope the bus stores for it. Frames carry the publisher's `data` and name.
 */
import { RelayError } from '../errors.ts';
import { MAX_UPSTREAM_SEQ, isRecord } from '../ingest/event.ts';
import { MAX_JSON_DEPTH, jsonTooDeep } from '../ingest/json-depth.ts';
import type { FrameStyle } from '../profile.ts';

/** One event as a publisher sent it, checked: its data as JSON text. */
export interface PublishedEvent {
  /** The publisher's `data`, as JSON text. */
  data: string;
  /** The frame's `event:` name, when the publisher named it. */
  event?: string;
  /** The publisher's seq; without it the bus numbers the event. */
  seq?: number;
  terminal: boolean;
}

/** What the bus stores for a published event (as JSON, `data` last). */
interface Envelope {
  /** When it was published, ms since the epoch: a silent publisher's deadline counts from the last one. */
  ts: number;
  event?: string;
  data: unknown;
}

/** Limits on what one publish may carry. */
export interface PublishLimits {
  /** Largest event, its JSON text in bytes (413). */
  maxEventBytes: number;
  /** Most events in one request, or in one batch of an NDJSON stream (400). */
  maxEvents: number;
}

const FIELDS = new Set(['data', 'event', 'seq', 'terminal']);
/** Event names: printable ASCII, no spaces (one SSE field line); `gap` is the gateway's own notice. */
const EVENT_NAME = /^[\x21-\x7e]{1,64}$/;
const RESERVED_NAMES = new Set(['gap']);
const bytes = (text: string) => new TextEncoder().encode(text).byteLength;

/**
 * Checks one parsed event (`where` names it in errors: "event 3", "line 7"); a RelayError saying what
 * is wrong (400; 413 past `maxEventBytes`), never echoing the value.
 */
export function readPublishedEvent(value: unknown, where: string, limits: Pick<PublishLimits, 'maxEventBytes'>): PublishedEvent {
  const bad = (message: string) => new RelayError('bad_request', `${where}: ${message}`);
  if (!isRecord(value)) throw bad('must be a JSON object {"data": …}');
  for (const field of Object.keys(value)) {
    if (!FIELDS.has(field)) throw bad(`unknown field ${JSON.stringify(field.slice(0, 40))} (expected data, event, seq, terminal)`);
  }
  if (!('data' in value) || value.data === undefined) throw bad('data is required (any JSON value)');
  const { event, seq, terminal } = value;
  if (event !== undefined && (typeof event !== 'string' || !EVENT_NAME.test(event) || RESERVED_NAMES.has(event))) {
    throw bad('event must be a name of 1-64 printable characters without spaces, other than gap');
  }
  if (seq !== undefined && (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0 || seq > MAX_UPSTREAM_SEQ)) {
    throw bad(`seq must be an integer from 0 to ${MAX_UPSTREAM_SEQ}`);
  }
  if (terminal !== undefined && typeof terminal !== 'boolean') throw bad('terminal must be true or false');
  const data = JSON.stringify(value.data);
  if (bytes(data) > limits.maxEventBytes) {
    throw new RelayError('payload_too_large', `${where}: data exceeds ${limits.maxEventBytes} bytes`);
  }
  return { data, terminal: terminal === true, ...(event === undefined ? {} : { event }), ...(seq === undefined ? {} : { seq }) };
}

/** Parses one event's JSON text (an NDJSON line) and checks it. */
export function parsePublishedEvent(text: string, where: string, limits: Pick<PublishLimits, 'maxEventBytes'>): PublishedEvent {
  if (bytes(text) > limits.maxEventBytes + 1024) {
    throw new RelayError('payload_too_large', `${where}: exceeds ${limits.maxEventBytes} bytes`);
  }
  if (jsonTooDeep(text, MAX_JSON_DEPTH)) throw new RelayError('bad_request', `${where}: nests deeper than ${MAX_JSON_DEPTH} levels`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new RelayError('bad_request', `${where}: not valid JSON`);
  }
  return readPublishedEvent(value, where, limits);
}

/** What the earlier batches of one request fixed (an NDJSON stream's): numbered or not, the last seq, whether it ended. */
export interface BatchState {
  numbered?: boolean;
  lastSeq: number;
  ended: boolean;
}

/** A request before its first batch. */
export const FIRST_BATCH: BatchState = Object.freeze({ lastSeq: -1, ended: false });

/**
 * Checks the events of one batch together, after the request's earlier ones (`previous`): every event
 * has a seq or none has, seqs go up, nothing after a terminal event. `name` names an event in errors.
 * Returns the state after the batch.
 */
export function checkPublishedBatch(events: readonly PublishedEvent[], previous: BatchState, name: (index: number) => string): BatchState {
  let { numbered, lastSeq, ended } = previous;
  for (const [index, event] of events.entries()) {
    const bad = (message: string) => new RelayError('bad_request', `${name(index)}: ${message}`);
    if (ended) throw bad('comes after the terminal event');
    const hasSeq = event.seq !== undefined;
    if (numbered !== undefined && hasSeq !== numbered) throw bad('every event of one request has a seq, or none has');
    numbered = hasSeq;
    if (event.seq !== undefined) {
      if (event.seq <= lastSeq) throw bad(`seq ${event.seq} does not go up (after ${lastSeq})`);
      lastSeq = event.seq;
    }
    ended = event.terminal;
  }
  return { ...(numbered === undefined ? {} : { numbered }), lastSeq, ended };
}

/** The stored text of a published event, redacted (`redact` cuts every secret out), published at `ts`. */
export function envelopeOf(event: PublishedEvent, ts: number, redact: (text: string) => string): string {
  let data = redact(event.data);
  if (data !== event.data) {
    try {
      JSON.parse(data);
    } catch {
      data = JSON.stringify('[redacted]');
    }
  }
  const head = JSON.stringify({ ts, ...(event.event === undefined ? {} : { event: event.event }) });
  return `${head.slice(0, -1)},"data":${data}}`;
}

/** The envelope of a stored published event; undefined for text that is not one. */
export function readEnvelope(stored: string): Envelope | undefined {
  try {
    const value: unknown = JSON.parse(stored);
    if (isRecord(value) && typeof value.ts === 'number' && 'data' in value) return value as unknown as Envelope;
  } catch {
    // Not an envelope: framed as stored.
  }
  return undefined;
}

/** Published jobs' frames on the uniform path: `data:` is the publisher's data, `event:` its name (unnamed events reach `onmessage`). */
export const PUBLISHED_FRAMES: FrameStyle = Object.freeze({
  frameData: (stored: string) => {
    const envelope = readEnvelope(stored);
    return envelope ? JSON.stringify(envelope.data) : stored;
  },
  eventName: (stored: string) => {
    const name = readEnvelope(stored)?.event;
    return typeof name === 'string' ? name : undefined;
  },
});

/** The latest event of a published job as `GET /v1/jobs/<namespace>/<id>` answers it. */
export interface LatestEvent {
  seq: number;
  event?: string;
  data: unknown;
  terminal: boolean;
  /** When it was published, ISO 8601. */
  published_at: string;
}

/** A stored published event as the latest event. */
export function latestOf(stored: { seq: number; data: string; terminal: boolean }): LatestEvent {
  const envelope = readEnvelope(stored.data);
  const name = envelope?.event;
  return {
    seq: stored.seq,
    ...(typeof name === 'string' ? { event: name } : {}),
    data: envelope ? envelope.data : stored.data,
    terminal: stored.terminal,
    published_at: new Date(envelope?.ts ?? 0).toISOString(),
  };
}
