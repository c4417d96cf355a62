import { type EventSourceMessage, createParser } from 'eventsource-parser';
import { describe, expect, it } from 'vitest';
import { createMemoryBus } from '../../../src/core/bus/memory-bus.ts';
import { JobHub, type SubscriberSink } from '../../../src/core/fanout/hub.ts';
import { decodeMuxId, muxKey } from '../../../src/core/fanout/mux-id.ts';
import { MuxStream } from '../../../src/core/fanout/mux-stream.ts';
import { encodeComment, encodeRetry } from '../../../src/core/fanout/sse.ts';

// The multiplexed stream's connection over real hubs on the memory bus: what one client reads.

const decoder = new TextDecoder();
const data = (seq: number, extra = '') => `{"seq":${seq},"status":"s${seq}"${extra}}`;
const ev = (seq: number, terminal = false) => ({ seq, data: data(seq), terminal });

/** The connection's sink: what the client reads, parsed; `limit` writes before it is too slow. */
function client(limit = Number.POSITIVE_INFINITY) {
  const messages: EventSourceMessage[] = [];
  const comments: string[] = [];
  const parser = createParser({ onEvent: (m) => void messages.push(m), onComment: (c) => void comments.push(c) });
  let writes = 0;
  let ends = 0;
  const sink: SubscriberSink = {
    write(bytes) {
      if (ends > 0 || ++writes > limit) return false;
      parser.feed(decoder.decode(bytes));
      return true;
    },
    end() {
      ends++;
    },
  };
  return { sink, messages, comments, ends: () => ends };
}

async function hubWith(jobId: string, events: { seq: number; data: string; terminal: boolean }[], maxEvents = 100) {
  const bus = createMemoryBus({ historyMaxEvents: 1000, historyTtlMs: 60_000 });
  for (const event of events) await bus.append(jobId, event);
  const hub = new JobHub(jobId, bus, maxEvents);
  await hub.ready();
  return { bus, hub };
}

const jobs = [
  { name: 'p/a', key: muxKey('p/a'), since: -1 },
  { name: 'q/b', key: muxKey('q/b'), since: -1 },
];

describe('MuxStream', () => {
  it("frames two jobs' replay then live events, each with the composite id of both; ends once both are over", async () => {
    const a = await hubWith('a', [ev(0), { seq: 1, data: '{"seq":1,\n"multi":"line"}', terminal: false }]);
    const b = await hubWith('b', [ev(0)]);
    const out = client();
    out.sink.write(encodeRetry(1000));
    const over: number[] = [];
    const mux = new MuxStream({ out: out.sink, jobs, live: [0, 1], onJobOver: (index) => void over.push(index) });
    a.hub.attach(mux.jobSink(0), -1);
    b.hub.attach(mux.jobSink(1), -1);
    await a.bus.append('a', ev(2));
    await b.bus.append('b', ev(1, true));
    expect(out.ends()).toBe(0);
    expect(over).toEqual([1]);
    await a.bus.append('a', ev(3, true));
    expect(out.ends()).toBe(1);
    expect(mux.closed).toBe(true);
    expect(over).toEqual([1, 0]);

    const frames = out.messages.map((m) => ({ id: m.id, ...(JSON.parse(m.data) as { job: string; seq: number; terminal: boolean }) }));
    expect(frames.map((f) => `${f.job}:${f.seq}:${f.terminal}`)).toEqual([
      'p/a:0:false',
      'p/a:1:false',
      'q/b:0:false',
      'p/a:2:false',
      'q/b:1:true',
      'p/a:3:true',
    ]);
    // The vendor's event exactly: the multi-line one too.
    expect((JSON.parse(out.messages[1]?.data ?? '') as { event: unknown }).event).toEqual({ seq: 1, multi: 'line' });
    // Each id holds every job seen so far at its last seq.
    const positions = frames.map((f) => Object.fromEntries(decodeMuxId(f.id ?? '', 2)));
    expect(positions[2]).toEqual({ [muxKey('p/a')]: 1, [muxKey('q/b')]: 0 });
    expect(positions.at(-1)).toEqual({ [muxKey('p/a')]: 3, [muxKey('q/b')]: 1 });
    expect(a.hub.size + b.hub.size).toBe(0);
  });

  it('names the job in gap frames: history trimmed at replay, events lost live', async () => {
    const a = await hubWith(
      'a',
      Array.from({ length: 10 }, (_, seq) => ev(seq)),
      3,
    );
    const out = client();
    const mux = new MuxStream({ out: out.sink, jobs: jobs.slice(0, 1), live: [0] });
    a.hub.attach(mux.jobSink(0), -1);
    await a.bus.append('a', { ...ev(14), prev: 12 });
    const gaps = out.messages.filter((m) => m.event === 'gap').map((m) => JSON.parse(m.data));
    expect(gaps).toEqual([
      { job: 'p/a', from: 0, to: 6 },
      { job: 'p/a', from: 10, to: 12 },
    ]);
    expect(out.messages.filter((m) => m.event === undefined).map((m) => (JSON.parse(m.data) as { seq: number }).seq)).toEqual([
      7, 8, 9, 14,
    ]);
  });

  it('resumes each job after its own seq and starts the id with the positions it was given', async () => {
    const a = await hubWith('a', [ev(0), ev(1), ev(2)]);
    const b = await hubWith('b', [ev(0), ev(1)]);
    const out = client();
    const mux = new MuxStream({
      out: out.sink,
      jobs: [{ ...jobs[0], since: 1 } as (typeof jobs)[0], jobs[1] as (typeof jobs)[0]],
      live: [0, 1],
    });
    a.hub.attach(mux.jobSink(0), 1);
    b.hub.attach(mux.jobSink(1), 0);
    expect(out.messages.map((m) => m.data.slice(0, 24))).toEqual(['{"job":"p/a","seq":2,"te', '{"job":"q/b","seq":1,"te']);
    expect(Object.fromEntries(decodeMuxId(out.messages[0]?.id ?? '', 2))).toEqual({ [muxKey('p/a')]: 2 });
  });

  it('sends one heartbeat per beat however many hubs beat: the first running job’s', async () => {
    const a = await hubWith('a', [ev(0)]);
    const b = await hubWith('b', [ev(0)]);
    const out = client();
    const mux = new MuxStream({ out: out.sink, jobs, live: [0, 1] });
    a.hub.attach(mux.jobSink(0), 0);
    b.hub.attach(mux.jobSink(1), 0);
    const beat = encodeComment();
    const beatBoth = () => {
      a.hub.heartbeat(beat);
      b.hub.heartbeat(beat);
    };
    beatBoth();
    beatBoth();
    expect(out.comments).toHaveLength(2);
    await a.bus.append('a', ev(1, true));
    beatBoth();
    expect(out.comments).toHaveLength(3);
    expect(out.ends()).toBe(0);
  });

  it('ends the whole connection, with its tail, when one job’s stream ends before its terminal event (drain, shutdown)', async () => {
    const a = await hubWith('a', [ev(0)]);
    const b = await hubWith('b', [ev(0)]);
    const out = client();
    const tail = encodeComment('reconnect');
    const mux = new MuxStream({ out: out.sink, jobs, live: [0, 1], earlyEndTail: [tail] });
    a.hub.attach(mux.jobSink(0), -1);
    b.hub.attach(mux.jobSink(1), -1);
    await a.hub.close();
    expect(out.ends()).toBe(1);
    expect(out.comments).toEqual(['reconnect']);
    await b.bus.append('b', ev(1));
    expect(out.messages).toHaveLength(2);
    await b.hub.close();
    expect(out.ends()).toBe(1);
  });

  it('drops a client too far behind: the connection ends, the job whose write failed leaves its hub', async () => {
    const a = await hubWith('a', [ev(0)]);
    const b = await hubWith('b', [ev(0)]);
    const out = client(2);
    const mux = new MuxStream({ out: out.sink, jobs, live: [0, 1] });
    a.hub.attach(mux.jobSink(0), -1);
    b.hub.attach(mux.jobSink(1), -1);
    expect(out.ends()).toBe(0);
    await a.bus.append('a', ev(1));
    expect(out.ends()).toBe(1);
    expect(a.hub.size).toBe(0);
    expect(mux.closed).toBe(true);
  });
});
