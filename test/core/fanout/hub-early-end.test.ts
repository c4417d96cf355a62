import { describe, expect, it } from 'vitest';
import type { SubscriberSink } from '../../../src/core/fanout/hub.ts';
import { JobHub } from '../../../src/core/fanout/hub.ts';
import { createMemoryBus } from '../../../src/core/bus/memory-bus.ts';
import type { FrameStyle } from '../../../src/core/profile.ts';

// A made-up drop-in style whose client takes a clean close for a finished job (as OpenAI's SDK
// does): a stream the gateway ends before the terminal event gets an `error` event, or is aborted.
const style: FrameStyle = {
  eventName: (data) => (JSON.parse(data) as { type: string }).type,
  noGapFrames: true,
  earlyEnd: (lastSeq) => JSON.stringify({ type: 'error', after: lastSeq }),
};

const decoder = new TextDecoder();
const retention = { historyMaxEvents: 100, historyTtlMs: 60_000 };
const ev = (seq: number, terminal = false) => ({ seq, data: `{"type":"${terminal ? 'done' : 'step'}","seq":${seq}}`, terminal });

function sink(limit = Number.POSITIVE_INFINITY) {
  const state = { text: '', how: 'open' as 'open' | 'ended' | 'aborted', writes: 0 };
  const withAbort: SubscriberSink = {
    write(bytes) {
      if (state.how !== 'open' || ++state.writes > limit) return false;
      state.text += decoder.decode(bytes);
      return true;
    },
    end() {
      if (state.how === 'open') state.how = 'ended';
    },
    abort() {
      if (state.how === 'open') state.how = 'aborted';
    },
  };
  return { sink: withAbort, state };
}

describe('a drop-in style with earlyEnd', () => {
  it('ends streams closed early (shutdown, drain) with its event, and the uniform ones plainly', async () => {
    const bus = createMemoryBus(retention);
    const hub = new JobHub('j', bus, 100, {}, [style]);
    await hub.ready();
    const dropIn = sink();
    const drained = sink();
    const uniform = sink();
    hub.attach(dropIn.sink, -1, undefined, style);
    hub.attach(drained.sink, -1, undefined, style);
    hub.attach(uniform.sink, -1);
    await bus.append('j', ev(0));
    await bus.append('j', ev(1));
    hub.endSubscriber(drained.sink);
    expect(drained.state.how).toBe('ended');
    expect(drained.state.text.endsWith('event: error\ndata: {"type":"error","after":1}\n\n')).toBe(true);
    await hub.close();
    expect(dropIn.state.text.endsWith('event: error\ndata: {"type":"error","after":1}\n\n')).toBe(true);
    expect(dropIn.state.how).toBe('ended');
    expect(uniform.state.text).not.toContain('event: error');
    expect(uniform.state.how).toBe('ended');
  });

  it('aborts a subscriber dropped as too slow (it could not take the event), and ends normally at the terminal event', async () => {
    const bus = createMemoryBus(retention);
    const hub = new JobHub('j', bus, 100, {}, [style]);
    await hub.ready();
    const slow = sink(1);
    const fine = sink();
    hub.attach(slow.sink, -1, undefined, style);
    hub.attach(fine.sink, -1, undefined, style);
    await bus.append('j', ev(0));
    await bus.append('j', ev(1));
    expect(slow.state.how).toBe('aborted');
    await bus.append('j', ev(2, true));
    expect(fine.state.how).toBe('ended');
    expect(fine.state.text).not.toContain('event: error');
    await hub.close();
  });
});

describe('endSubscriber with neverClean (a runtime cutting a drop-in stream)', () => {
  it('writes the early-end event where the style has one, and aborts where it has none', async () => {
    const bus = createMemoryBus(retention);
    const plain: FrameStyle = { noGapFrames: true };
    const hub = new JobHub('j', bus, 100, {}, [style, plain]);
    await hub.ready();
    const withEvent = sink();
    const without = sink();
    hub.attach(withEvent.sink, -1, undefined, style);
    hub.attach(without.sink, -1, undefined, plain);
    await bus.append('j', ev(0));
    hub.endSubscriber(withEvent.sink, { neverClean: true });
    hub.endSubscriber(without.sink, { neverClean: true });
    expect(withEvent.state).toMatchObject({ how: 'ended', text: expect.stringMatching(/event: error\n.*"after":0/) });
    expect(without.state.how).toBe('aborted');
    expect(hub.size).toBe(0);
    await hub.close();
  });
});
