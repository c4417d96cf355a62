/** The event envelope the relay stores and forwards: the vendor's JSON kept byte for byte, plus what a profile read from it. */

/**
 * Largest seq accepted from the upstream: 2^52. Seqs the relay synthesizes (polling, deadline)
 * continue after the last stored one, so this leaves 2^52 of headroom below
 * Number.MAX_SAFE_INTEGER, the largest seq a bus stores. Above it an event counts as malformed.
 */
export const MAX_UPSTREAM_SEQ = 2 ** 52;

/** Largest seq any bus stores (and any client may resume from). */
export const MAX_SEQ = Number.MAX_SAFE_INTEGER;

/** One upstream event as the relay stores and forwards it. */
export interface JobEvent {
  seq: number;
  /** The vendor's event name (Midjourney `event`, OpenAI `type`). */
  type: string;
  /** The upstream JSON text, exactly as received. */
  data: string;
  terminal: boolean;
  /** The job id the event names, when it names one (not yet validated: see namedJobId). */
  jobId?: string;
  /** The job object the event carries, if any (the job's snapshot). */
  job?: Record<string, unknown>;
  /**
   * The snapshot to store when it is not `data` (fal: `job` with every log line so far, while
   * `data` carries only the new ones); undefined: `data` is the snapshot.
   */
  snapshot?: string;
  /** When this instance read it upstream (`performance.now()` ms), for the delivery lag; never stored. */
  receivedAt?: number;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A vendor payload as a JSON object, or the reason it is not one (every profile's event parser starts here). */
export function parseJsonObject(data: string): Record<string, unknown> | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    return 'not JSON';
  }
  return isRecord(parsed) ? parsed : 'not a JSON object';
}

/** Why a vendor's seq cannot be stored, or undefined when it can. */
export function seqProblem(seq: unknown): string | undefined {
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) return 'missing or invalid seq';
  if (seq > MAX_UPSTREAM_SEQ) return 'seq out of range';
  return undefined;
}
