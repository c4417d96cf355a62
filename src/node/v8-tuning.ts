import { setFlagsFromString } from 'node:v8';

/**
 * How much bytecode a function runs before V8 considers optimizing it: 8 times V8's default
 * (67,584 in Node 20). A gateway's request paths run once per request and are not worth
 * optimizing for the first few hundred; its delivery loops run once per subscriber and get there
 * as fast as before. On a fresh process V8 otherwise compiles the whole subscribe path with
 * TurboFan within its first hundreds of subscribers, on threads whose CPU the process pays
 * (docs/performance.md: about 60 µs per subscriber at 2,000 in all, with the same CPU per
 * delivery). A `--interrupt-budget` given to node itself is kept.
 */
export const INTERRUPT_BUDGET = 8 * 67_584;

if (!process.execArgv.some((arg) => arg.startsWith('--interrupt-budget'))) {
  setFlagsFromString(`--interrupt-budget=${INTERRUPT_BUDGET}`);
}
