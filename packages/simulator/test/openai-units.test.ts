import { describe, expect, it } from 'vitest';
import { maskKey } from '../src/openai/auth.ts';
import { inputText, readCreateRequest } from '../src/openai/create-request.ts';
import { parseOpenAIScenario } from '../src/openai/directives.ts';
import { createEventLog } from '../src/openai/event-log.ts';
import type { StoredEvent } from '../src/openai/event-log.ts';
import { answerDeltas } from '../src/openai/text.ts';

describe('parseOpenAIScenario', () => {
  it('gives the defaults for plain text', () => {
    expect(parseOpenAIScenario('tell me a story')).toEqual({
      ok: true,
      scenario: { outcome: 'completed', echoToken: false, garbage: false, keepalive: false },
    });
  });

  it('reads every directive', () => {
    const text =
      '--sim-steps 7 hi --sim-interval 0 --sim-outcome incomplete --sim-drop-after 2 --sim-silent-after 3 --sim-status 503 --sim-echo-token --sim-garbage --sim-keepalive --sim-resume-window 1000';
    expect(parseOpenAIScenario(text)).toEqual({
      ok: true,
      scenario: {
        steps: 7,
        intervalMs: 0,
        outcome: 'incomplete',
        dropAfter: 2,
        silentAfter: 3,
        status: 503,
        echoToken: true,
        garbage: true,
        keepalive: true,
        resumeWindowMs: 1000,
      },
    });
  });

  it.each([
    ['--sim-moderated', 'Unknown directive --sim-moderated'],
    ['--sim-outcome moderated', '--sim-outcome expects one of completed|incomplete|failed|error'],
    ['--sim-status 200', '--sim-status expects an integer 400-599'],
    ['--sim-resume-window -5', '--sim-resume-window expects an integer 0-86400000'],
  ])('rejects %j', (text, error) => {
    expect(parseOpenAIScenario(`x ${text}`)).toEqual({ ok: false, error });
  });
});

describe('readCreateRequest', () => {
  it('fills the defaults: not background, not streamed, stored, obfuscated', () => {
    const result = readCreateRequest('{"model":"gpt-4o","input":"hi"}');
    expect(result).toMatchObject({
      ok: true,
      request: { model: 'gpt-4o', background: false, stream: false, store: true, metadata: {}, includeObfuscation: true, text: 'hi' },
    });
  });

  it.each(['[]', '"text"', 'null', '{'])('refuses the body %s', (raw) => {
    expect(readCreateRequest(raw)).toMatchObject({ ok: false, problem: { param: null } });
  });

  it('refuses more than 16 metadata pairs and over-long keys or values', () => {
    const many = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v']));
    for (const metadata of [many, { ['k'.repeat(65)]: 'v' }, { k: 'v'.repeat(513) }]) {
      expect(readCreateRequest(JSON.stringify({ model: 'm', input: 'x', metadata }))).toMatchObject({ ok: false });
    }
  });
});

describe('inputText', () => {
  it('takes the string, the first input_text part, or a message with string content', () => {
    expect(inputText('plain')).toBe('plain');
    expect(inputText([{ role: 'user', content: [{ type: 'input_image' }, { type: 'input_text', text: 'second part' }] }])).toBe(
      'second part',
    );
    expect(inputText([{ role: 'user', content: 'easy message' }])).toBe('easy message');
    expect(inputText([{ type: 'function_call_output', output: '{}' }])).toBe('');
    expect(inputText([null, 3])).toBe('');
  });
});

describe('event log', () => {
  const received = () => {
    const events: number[] = [];
    let ended = 0;
    return {
      events,
      ended: () => ended,
      listener: { event: (e: StoredEvent) => void events.push(e.sequence_number), end: () => void ended++ },
    };
  };

  it('numbers events from 0, replays after a cursor, then delivers live and ends once', () => {
    const log = createEventLog();
    for (let i = 0; i < 3; i++) log.append({ type: 'step' });
    const late = received();
    log.subscribe(0, late.listener);
    expect(late.events).toEqual([1, 2]);
    log.append({ type: 'step', extra: true });
    expect(late.events).toEqual([1, 2, 3]);
    log.end();
    log.end();
    expect(late.ended()).toBe(1);
    const after = received();
    log.subscribe(3, after.listener);
    expect(after.events).toEqual([]);
    expect(after.ended()).toBe(1);
    expect(log.lastSequence).toBe(3);
  });

  it('encodes each event once with type and sequence_number first', () => {
    const log = createEventLog();
    const event = log.append({ type: 'response.output_text.delta', delta: 'hi' });
    expect(event.json).toBe('{"type":"response.output_text.delta","sequence_number":0,"delta":"hi"}');
  });
});

describe('text and keys', () => {
  it('derives one word per delta from the input, spaced like model output', () => {
    const deltas = answerDeltas('some input', 4);
    expect(deltas).toHaveLength(4);
    expect(deltas[0]).not.toMatch(/^ /);
    for (const delta of deltas.slice(1)) expect(delta).toMatch(/^ \S+$/);
    expect(answerDeltas('some input', 4)).toEqual(deltas);
  });

  it('masks a wrong key as the vendor does: first 3 and last 4 characters at most', () => {
    expect(maskKey('sk-abcdefghijklmnop')).toBe('sk-************mnop');
    expect(maskKey('short-key')).toBe('*********');
  });
});
