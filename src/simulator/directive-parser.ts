/** How one `--sim-<name>` directive reads its value (if any) and applies it to a vendor's scenario. */
export type DirectiveSpec<S> =
  | { kind: 'flag'; apply(scenario: S): void }
  | { kind: 'int'; min: number; max: number; apply(scenario: S, value: number): void }
  | { kind: 'choice'; choices: readonly string[]; apply(scenario: S, value: string): void };

/** Either the scenario with every directive applied or why the directives are invalid (a 400). */
export type DirectiveResult<S> = { ok: true; scenario: S } | { ok: false; error: string };

const PREFIX = '--sim-';

/** A directive without a value, e.g. `--sim-garbage`. */
export function flag<S>(apply: (scenario: S) => void): DirectiveSpec<S> {
  return { kind: 'flag', apply };
}

/** A directive followed by an integer in `[min, max]`, e.g. `--sim-steps 3`. */
export function int<S>(min: number, max: number, apply: (scenario: S, value: number) => void): DirectiveSpec<S> {
  return { kind: 'int', min, max, apply };
}

/** A directive followed by one of `choices`, e.g. `--sim-outcome failed`. */
export function choice<S, T extends string>(choices: readonly T[], apply: (scenario: S, value: T) => void): DirectiveSpec<S> {
  return { kind: 'choice', choices, apply: (scenario, value) => apply(scenario, value as T) };
}

/**
 * Applies the `--sim-*` directives found in `text` (whitespace-separated, anywhere in it) to `scenario`;
 * a directive missing from `table`, or a value out of range, is an error.
 */
export function parseDirectives<S>(text: string | undefined, table: Record<string, DirectiveSpec<S>>, scenario: S): DirectiveResult<S> {
  const tokens = (text ?? '').split(/\s+/);
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] ?? '';
    if (!token.startsWith(PREFIX)) continue;
    const name = token.slice(PREFIX.length);
    const directive = Object.hasOwn(table, name) ? table[name] : undefined;
    if (!directive) return { ok: false, error: `Unknown directive ${token}` };
    if (directive.kind === 'flag') {
      directive.apply(scenario);
      continue;
    }
    const value = tokens[++i] ?? '';
    if (directive.kind === 'choice') {
      if (!directive.choices.includes(value)) return { ok: false, error: `${token} expects one of ${directive.choices.join('|')}` };
      directive.apply(scenario, value);
      continue;
    }
    const number = /^\d+$/.test(value) ? Number(value) : NaN;
    if (!(number >= directive.min && number <= directive.max)) {
      return { ok: false, error: `${token} expects an integer ${directive.min}-${directive.max}` };
    }
    directive.apply(scenario, number);
  }
  return { ok: true, scenario };
}
