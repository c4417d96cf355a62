/** One sample of a Prometheus text exposition. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A parsed exposition: its families (`# TYPE`) and samples, and a reader of one value. */
export interface Exposition {
  types: Map<string, string>;
  samples: Sample[];
  /** The value of `name` with exactly these labels, or undefined when it is not exposed. */
  value(name: string, labels?: Record<string, string>): number | undefined;
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = '([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\\\\n]|\\\\[\\\\n"])*)"';
/** A float as Go's ParseFloat reads it (Prometheus's parser): NaN and Inf in any case (prom-client writes `Nan`). */
const VALUE = '(?:[-+]?(?:\\d+(?:\\.\\d*)?|\\.\\d+)(?:[eE][-+]?\\d+)?|[nN][aA][nN]|[-+][iI][nN][fF])';
const HELP_LINE = new RegExp(`^# HELP (${NAME}) .*$`);
const TYPE_LINE = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`);
const SAMPLE_LINE = new RegExp(`^(${NAME})(?:\\{((?:${LABEL})(?:,${LABEL})*)?\\})? (${VALUE})(?: -?\\d+)?$`);
const LABEL_PAIR = new RegExp(LABEL, 'g');
/** Suffixes a histogram's or summary's samples carry after the family name. */
const SUFFIXES = ['_bucket', '_sum', '_count'];

const unescapeLabel = (value: string) => value.replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));

/**
 * Parses the Prometheus text format (0.0.4) strictly: every line a HELP, a TYPE or a sample of a
 * declared family, label values escaped as the format says, each series once. Throws on the first
 * line that breaks a rule, naming it.
 */
export function parseExposition(text: string): Exposition {
  if (!text.endsWith('\n')) throw new Error('the exposition does not end with a line feed');
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  const seen = new Set<string>();
  for (const line of text.slice(0, -1).split('\n')) {
    if (line === '') continue;
    if (line.startsWith('# HELP ')) {
      if (!HELP_LINE.test(line)) throw new Error(`bad HELP line: ${line}`);
      continue;
    }
    if (line.startsWith('#')) {
      const type = TYPE_LINE.exec(line);
      if (!type) throw new Error(`bad comment line: ${line}`);
      if (types.has(type[1] as string)) throw new Error(`family declared twice: ${line}`);
      types.set(type[1] as string, type[2] as string);
      continue;
    }
    const sample = SAMPLE_LINE.exec(line);
    if (!sample) throw new Error(`bad sample line: ${line}`);
    const name = sample[1] as string;
    const family = types.has(name)
      ? name
      : SUFFIXES.map((suffix) => name.slice(0, -suffix.length)).find((base, i) => name.endsWith(SUFFIXES[i] as string) && types.has(base));
    if (family === undefined) throw new Error(`sample of no declared family: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, raw] of (sample[2] ?? '').matchAll(LABEL_PAIR)) {
      if ((key as string) in labels) throw new Error(`label given twice: ${line}`);
      labels[key as string] = unescapeLabel(raw as string);
    }
    const series = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seen.has(series)) throw new Error(`series exposed twice: ${line}`);
    seen.add(series);
    const raw = sample.at(-1) as string;
    const lower = raw.toLowerCase();
    samples.push({
      name,
      labels,
      value: lower.endsWith('inf') ? (raw.startsWith('-') ? -Infinity : Infinity) : lower === 'nan' ? Number.NaN : Number(raw),
    });
  }
  const value = (name: string, labels: Record<string, string> = {}) => {
    const wanted = Object.entries(labels);
    return samples.find(
      (sample) =>
        sample.name === name && Object.keys(sample.labels).length === wanted.length && wanted.every(([k, v]) => sample.labels[k] === v),
    )?.value;
  };
  return { types, samples, value };
}
