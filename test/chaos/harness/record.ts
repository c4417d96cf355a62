/** What one subscriber received over all its connections, for the checks. */
export interface SubscriberRecord {
  name: string;
  /** Numbered events in arrival order (across reconnects). */
  events: { seq: number; data: string }[];
  /** `event: gap` frames: seqs from..to announced as missing. */
  gaps: { from: number; to: number }[];
  /** Every byte received, as text, for the leak check. */
  raw: string[];
  connections: number;
  /** Statuses of refused (re)connects, e.g. 503 while Redis is down. */
  refusals: number[];
  /** True once the terminal event arrived. */
  terminal: boolean;
  /** Why it stopped without the terminal event, if it did. */
  failure?: string;
}

/** Upstream event names after which a job is over. */
export const TERMINAL = new Set(['midjourney_completed', 'midjourney_failed', 'midjourney_moderated', 'midjourney_cancelled', 'error']);

export function newRecord(name: string): SubscriberRecord {
  return { name, events: [], gaps: [], raw: [], connections: 0, refusals: [], terminal: false };
}

/** Adds one SSE message to the record; true when it was the job's terminal event. */
export function recordMessage(
  record: SubscriberRecord,
  message: { id?: string | undefined; event?: string | undefined; data: string },
): boolean {
  if (message.event === 'gap') {
    const gap = JSON.parse(message.data) as { from: number; to: number };
    record.gaps.push(gap);
    return false;
  }
  if (message.id === undefined || message.id === '') return false;
  record.events.push({ seq: Number(message.id), data: message.data });
  let name: unknown;
  try {
    name = (JSON.parse(message.data) as { event?: unknown }).event;
  } catch {
    name = undefined;
  }
  if (typeof name === 'string' && TERMINAL.has(name)) record.terminal = true;
  return record.terminal;
}
