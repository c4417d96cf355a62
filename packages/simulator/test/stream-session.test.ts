import { describe, expect, it } from 'vitest';
import { initializedEvent } from '../src/events.ts';
import { createStreamSession } from '../src/stream-session.ts';

const event = (seq: number) => initializedEvent('j1', seq, Date.UTC(2025, 0, 1, 22, 41, 58, 458));

describe('stream session', () => {
  it('writes data frames with event first and no other fields', async () => {
    const session = createStreamSession();
    session.send(event(0), 0);
    session.end();
    expect(await new Response(session.body).text()).toBe(
      'data: {"event":"initialized","message":"Stream initialized","jobId":"j1","seq":0,"ts":"22:41:58.458"}\n\n',
    );
  });

  it('closes after dropAfter events and ignores later sends', async () => {
    const session = createStreamSession({ dropAfter: 2 });
    for (let seq = 0; seq < 5; seq++) session.send(event(seq), 0);
    session.end();
    const text = await new Response(session.body).text();
    expect(text.match(/^data: /gm)).toHaveLength(2);
  });

  it('never throws once the reader cancelled', async () => {
    const session = createStreamSession();
    await session.body.cancel();
    expect(() => {
      session.send(event(0), 0);
      session.end();
      session.end();
    }).not.toThrow();
  });
});
