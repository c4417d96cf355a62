import { describe, expect, it } from 'vitest';
import { parseScenario } from '../src/directives.ts';

describe('parseScenario', () => {
  it('gives the defaults for a plain prompt or none', () => {
    const plain = { ok: true, scenario: { outcome: 'completed', garbage: false, echoToken: false } };
    expect(parseScenario('a cat in a hat --ar 16:9')).toEqual(plain);
    expect(parseScenario(undefined)).toEqual(plain);
  });

  it('reads every directive, wherever it sits in the prompt', () => {
    const result = parseScenario(
      '--sim-steps 7 a cat\n--sim-interval 0 --sim-outcome moderated --sim-drop-after 2 --sim-garbage --sim-status 596 --sim-echo-token',
    );
    expect(result).toEqual({
      ok: true,
      scenario: { steps: 7, intervalMs: 0, outcome: 'moderated', dropAfter: 2, garbage: true, status: 596, echoToken: true },
    });
  });

  it.each([
    ['--sim-nope', 'Unknown directive --sim-nope'],
    ['--sim-steps=3', 'Unknown directive --sim-steps=3'],
    ['--sim-toString', 'Unknown directive --sim-toString'],
    ['--sim-steps', '--sim-steps expects an integer 0-99'],
    ['--sim-steps -1', '--sim-steps expects an integer 0-99'],
    ['--sim-steps 100', '--sim-steps expects an integer 0-99'],
    ['--sim-interval 1.5', '--sim-interval expects an integer 0-60000'],
    ['--sim-status 200', '--sim-status expects an integer 400-599'],
    ['--sim-outcome done', '--sim-outcome expects one of completed|failed|moderated|error'],
  ])('rejects %j', (prompt, error) => {
    expect(parseScenario(`a cat ${prompt}`)).toEqual({ ok: false, error });
  });
});
