import { afterEach, beforeEach } from 'vitest';
import { sleep, until } from '../../../support/until.ts';

/** Two handles on one shared bus port (two instances of a cluster; the same object for memory). */
export interface PortPair<Port> {
  a: Port;
  b: Port;
  /** Moves the clock the bus expires jobs and leases by, where the test holds it (the memory bus). */
  elapse?(ms: number): Promise<void>;
  close(): Promise<void>;
}

/** Retention every contract run uses, so trimming and expiry are observable quickly. */
export const CONTRACT_RETENTION = { historyMaxEvents: 5, historyTtlMs: 300 };

/** Opens a fresh pair before each test of the enclosing suite and closes it after; read it with the returned getter. */
export function eachPair<Port>(open: () => Promise<PortPair<Port>>): () => PortPair<Port> {
  let pair: PortPair<Port> | undefined;
  beforeEach(async () => {
    pair = await open();
  });
  afterEach(async () => {
    await pair?.close();
    pair = undefined;
  });
  return () => {
    if (!pair) throw new Error('no bus pair open outside a test');
    return pair;
  };
}

let counter = 0;
/** A job id no other test uses, on any bus. */
export const newJob = () => `job:${Date.now()}-${counter++}`;
export const ev = (seq: number, terminal = false) => ({ seq, data: `{"event":"e","seq":${seq}}`, terminal });

/** Lets `ms` pass for the pair's expiries: on its own clock when it has one, else for real (Redis, the IPC host and the Durable Object expire by a clock no test moves). */
export const elapse = (pair: PortPair<unknown>, ms: number): Promise<void> => (pair.elapse ? pair.elapse(ms) : sleep(ms));

/** Resolves once `check` holds (the shared test helper's polling). */
export const eventually = (check: () => boolean) => until(check, (ok) => ok);
