import type { SubscriberSink } from './hub.ts';
import { muxEntry } from './mux-id.ts';
import { encodeUnnumberedEvent, frameDataBytes } from './sse.ts';

/** One job of a multiplexed stream. */
export interface MuxJob {
  /** `<profile>/<id>`: the `job` of its frames. */
  name: string;
  /** Its key in the composite id (muxKey(name)). */
  key: string;
  /** The last seq its client has (-1: none). */
  since: number;
}

export interface MuxStreamOptions {
  /** The connection's one sink. */
  out: SubscriberSink;
  jobs: readonly MuxJob[];
  /** Indexes of the jobs streamed; the others are over for this client (it has their terminal event). */
  live: readonly number[];
  /** Frames written before the connection is ended early (not every job over): a runtime's stream-length tail. */
  earlyEndTail?: readonly Uint8Array[];
  /** Called when job `index` is dropped after its terminal event (what it held can go). */
  onJobOver?(index: number): void;
}

const encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);
/** What closes a frame's data after the vendor's event: the envelope, the line, the frame. */
const ENVELOPE_END = encoder.encode('}\n\n');

/** The start of a frame's data, up to the vendor's event: `{"job":…,"seq":…,"terminal":…,"event":`. */
export function muxDataHead(job: string, seq: number, terminal: boolean): string {
  return `{"job":${JSON.stringify(job)},"seq":${seq},"terminal":${terminal},"event":`;
}

/**
 * Several jobs' events on one connection (`GET /v1/stream`). Each frame names its job (data
 * `{"job","seq","terminal","event"}`, gap frames with `job`) and carries the composite id of
 * every job's position (mux-id.ts), so one `Last-Event-ID` resumes them all. A job whose terminal
 * event went out is dropped; the connection ends when all are, or at once when one job's stream
 * ends early (drain, a slow client dropped): the client reconnects and every job resumes.
 * Fed by each job's hub through `jobSink` (the same attach as a single-job subscriber) or, on the
 * Worker's front, frame by frame (`event`, `gap`, `heartbeat`, `jobEnded`).
 */
export class MuxStream {
  private readonly out: SubscriberSink;
  private readonly jobs: readonly MuxJob[];
  private readonly earlyEndTail: readonly Uint8Array[];
  private readonly onJobOver: (index: number) => void;
  /** Each job's entry of the composite id; undefined until the client has one of its events. */
  private readonly entries: (string | undefined)[];
  private readonly over: boolean[];
  private remaining: number;
  private done = false;

  constructor(options: MuxStreamOptions) {
    this.out = options.out;
    this.jobs = options.jobs;
    this.earlyEndTail = options.earlyEndTail ?? [];
    this.onJobOver = options.onJobOver ?? (() => {});
    this.entries = this.jobs.map((job) => (job.since >= 0 ? muxEntry(job.key, job.since) : undefined));
    this.over = this.jobs.map(() => true);
    for (const index of options.live) this.over[index] = false;
    this.remaining = options.live.length;
  }

  /** True once the connection is ended (every job over, ended early, or gone). */
  get closed(): boolean {
    return this.done;
  }

  /** The disconnect path's part here: nothing more is written. Safe twice. */
  close(): void {
    this.done = true;
  }

  /** The composite id of every job's position now. */
  id(): string {
    let id = '';
    for (const entry of this.entries) if (entry !== undefined) id += id === '' ? entry : `.${entry}`;
    return id;
  }

  /**
   * One event of job `index`: the frame's `id:` line, then `head` and `body` and `tail` as they are (the data
   * lines). False when the connection cannot take it (gone, or too far behind): it is ended.
   */
  event(index: number, seq: number, head: string, body: Uint8Array = EMPTY, tail: Uint8Array = EMPTY): boolean {
    if (this.done || this.over[index]) return false;
    this.entries[index] = muxEntry((this.jobs[index] as MuxJob).key, seq);
    const start = encoder.encode(`id: ${this.id()}\n${head}`);
    const frame = new Uint8Array(start.byteLength + body.byteLength + tail.byteLength);
    frame.set(start, 0);
    frame.set(body, start.byteLength);
    frame.set(tail, start.byteLength + body.byteLength);
    return this.write(frame);
  }

  /** Job `index` will not get the events `from` to `to` (trimmed, or lost by the bus). */
  gap(index: number, from: number, to: number): boolean {
    if (this.done || this.over[index]) return false;
    return this.write(encodeUnnumberedEvent('gap', JSON.stringify({ job: (this.jobs[index] as MuxJob).name, from, to })));
  }

  /**
   * Job `index`'s heartbeat comment. Every job's hub beats at the same pace: only the first job
   * still running is passed on, so the client gets one per beat, however many jobs there are.
   */
  heartbeat(index: number, frame: Uint8Array): boolean {
    if (this.done) return false;
    if (index !== this.over.indexOf(false)) return true;
    return this.write(frame);
  }

  /**
   * Job `index`'s stream ended: after its terminal event it is dropped (the connection ends with
   * the last one); otherwise the whole connection ends early, for the client to resume every job.
   */
  jobEnded(index: number, terminal: boolean): void {
    if (this.done || this.over[index]) return;
    if (!terminal) {
      this.endEarly();
      return;
    }
    this.over[index] = true;
    this.remaining--;
    this.onJobOver(index);
    if (this.remaining === 0) this.end();
  }

  /** Ends the connection before every job is over (with the early-end tail). */
  endEarly(): void {
    if (this.done) return;
    for (const frame of this.earlyEndTail) this.out.write(frame);
    this.end();
  }

  /** Ends the connection as broken (no clean end). */
  abort(): void {
    if (this.done) return;
    this.done = true;
    if (this.out.abort) this.out.abort();
    else this.out.end();
  }

  /** The sink job `index`'s hub writes to: events and gaps framed for this connection, heartbeats merged. */
  jobSink(index: number): SubscriberSink {
    const name = (this.jobs[index] as MuxJob).name;
    let terminalSeen = false;
    return {
      // A hub writes only heartbeats to a sink that takes events and gaps itself.
      write: (bytes) => this.heartbeat(index, bytes),
      writeEvent: (frame, seq, terminal) => {
        terminalSeen ||= terminal;
        return this.event(index, seq, `data: ${muxDataHead(name, seq, terminal)}`, frameDataBytes(frame, seq), ENVELOPE_END);
      },
      writeGap: (from, to) => this.gap(index, from, to),
      end: () => this.jobEnded(index, terminalSeen),
      abort: () => this.abort(),
    };
  }

  private write(frame: Uint8Array): boolean {
    let ok = false;
    try {
      ok = this.out.write(frame);
    } catch {
      ok = false;
    }
    if (!ok) this.end();
    return ok;
  }

  private end(): void {
    if (this.done) return;
    this.done = true;
    this.out.end();
  }
}
