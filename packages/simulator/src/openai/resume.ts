import { invalidRequest } from './errors.ts';
import type { ResponseRecord } from './response-record.ts';

/** Where a GET `?stream=true` starts, or the 400 for a bad `starting_after`. */
export type StartingAfter = { ok: true; after: number } | { ok: false; response: Response };

/** Reads `starting_after`: absent means a replay from event 0; otherwise a non-negative integer. */
export function readStartingAfter(value: string | undefined): StartingAfter {
  if (value === undefined) return { ok: true, after: -1 };
  if (/^\d{1,15}$/.test(value)) return { ok: true, after: Number(value) };
  // What the vendor does with a negative or non-integer cursor is not documented.
  return {
    ok: false,
    response: invalidRequest("Invalid 'starting_after': expected a non-negative integer.", 'starting_after', 'invalid_value'),
  };
}

/** The vendor's 400 when a response may not be streamed again by GET, or undefined when it may. */
export function resumeRefusal(record: ResponseRecord, now: number): Response | undefined {
  if (!record.background) {
    // Text reported in openai-python #2579.
    return invalidRequest(
      'This response cannot be streamed because it was not created with background=true.',
      'stream',
      'invalid_request_error',
    );
  }
  if (!record.streamed) {
    // The guide: only responses created with stream=true can be streamed again; the text is the simulator's own.
    return invalidRequest(
      'This response cannot be streamed because it was not created with stream=true.',
      'stream',
      'invalid_request_error',
    );
  }
  if (now - record.createdAtMs > record.resumeWindowMs) {
    // openai-python #2828; the text names 5 minutes whatever --sim-resume-window says, as gateways may match on it.
    // Whether the vendor counts from creation or completion is not documented; the simulator counts from creation.
    return invalidRequest(
      'This response can no longer be streamed because it is more than 5 minutes old',
      'stream',
      'invalid_request_error',
    );
  }
  return undefined;
}
