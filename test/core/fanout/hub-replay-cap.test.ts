import { describe, expect, it } from 'vitest';
import type { SubscriberSink } from '../../../src/core/fanout/hub.ts';
import { JobHub } from '../../../src/core/fanout/hub.ts';
import { createMemoryBus } from '../../../src/core/bus/memory-bus.ts';

function recordingSink() {
  let text = '';
  const sink: SubscriberSink = {
    write(bytes) {
      text += new TextDecoder().decode(bytes);
      return true;
    },
    end() {},
  };
  return { sink, text: () => text, ids: () => [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1])) };
}

describe('JobHub.attach maxReplay', () => {
  it('sends a gap frame and only the newest maxReplay events when more are due', async () => {
    const bus = createMemoryBus({ historyMaxEvents: 1000, historyTtlMs: 60_000 });
    for (let seq = 0; seq < 20; seq++) await bus.append('j1', { seq, data: `{"event":"e","seq":${seq}}`, terminal: false });
    const hub = new JobHub('j1', bus, 1000);
    await hub.ready();
    const capped = recordingSink();
    hub.attach(capped.sink, -1, 5);
    expect(capped.ids()).toEqual([15, 16, 17, 18, 19]);
    expect(capped.text().startsWith('event: gap\ndata: {"from":0,"to":14}\n\n')).toBe(true);
    const resumed = recordingSink();
    hub.attach(resumed.sink, 16, 5);
    expect(resumed.ids()).toEqual([17, 18, 19]);
    expect(resumed.text()).not.toContain('event: gap');
    await hub.close();
  });
});
