/** One `--sim-<name>` directive: a bare flag, or a directive that reads the next token as its value. */
export type Directive<S> =
  | { takesValue: false; apply(scenario: S): void }
  | { takesValue: true; apply(scenario: S, value: string, token: string): string | undefined };

/** The directives a vendor understands, by name without the `--sim-` prefix. */
export type DirectiveTable<S> = Record<string, Directive<S>>;

/** Either the parsed scenario or why the directives are invalid (a 400). */
export type DirectiveResult<S> = { ok: true; scenario: S } | { ok: false; error: string };

const PREFIX = '--sim-';

/** A directive without a value, e.g. `--sim-garbage`. */
export function flag<S>(apply: (scenario: S) => void): Directive<S> {
  return { takesValue: false, apply };
}

/** A directive taking a decimal integer in `[min, max]`, e.g. `--sim-steps 4`. */
export function int<S>(min: number, max: number, apply: (scenario: S, value: number) => void): Directive<S> {
  return {
    takesValue: true,
    apply(scenario, value, token) {
      const number = /^\d+$/.test(value) ? Number(value) : NaN;
      if (!(number >= min && number <= max)) return `${token} expects an integer ${min}-${max}`;
      apply(scenario, number);
      return undefined;
    },
  };
}

/** A directive taking one of fixed words, e.g. `--sim-outcome error`. */
export function choice<S, V extends string>(values: readonly V[], apply: (scenario: S, value: V) => void): Directive<S> {
  return {
    takesValue: true,
    apply(scenario, value, token) {
      const found = values.find((v) => v === value);
      if (found === undefined) return `${token} expects one of ${values.join('|')}`;
      apply(scenario, found);
      return undefined;
    },
  };
}

/** Reads `--sim-*` directives from a prompt into `scenario` (the prompt itself is kept as sent); unknown ones are an error. */
export function parseDirectives<S>(prompt: string | undefined, table: DirectiveTable<S>, scenario: S): DirectiveResult<S> {
  const tokens = (prompt ?? '').split(/\s+/);
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] ?? '';
    if (!token.startsWith(PREFIX)) continue;
    const name = token.slice(PREFIX.length);
    const directive = Object.hasOwn(table, name) ? table[name] : undefined;
    if (!directive) return { ok: false, error: `Unknown directive ${token}` };
    if (!directive.takesValue) {
      directive.apply(scenario);
      continue;
    }
    const error = directive.apply(scenario, tokens[++i] ?? '', token);
    if (error !== undefined) return { ok: false, error };
  }
  return { ok: true, scenario };
}
