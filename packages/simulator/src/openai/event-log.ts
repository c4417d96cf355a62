import type { EventBody } from './response-state.ts';

/** A numbered event as stored and replayed: `type` and `sequence_number` lead, and its JSON is encoded once. */
export interface StoredEvent {
  readonly type: string;
  readonly sequence_number: number;
  readonly payload: Readonly<Record<string, unknown>>;
  readonly json: string;
}

/** Receives a log's events after some sequence number, then its end. */
export interface LogListener {
  event(event: StoredEvent): void;
  end(): void;
}

/** Every event of one response, numbered 0, 1, 2… without gaps, and the streams listening live. */
export interface EventLog {
  readonly ended: boolean;
  /** The highest sequence number so far, -1 before the first event. */
  readonly lastSequence: number;
  append(body: EventBody): StoredEvent;
  /** The terminal event has been appended: every listener ends. */
  end(): void;
  /** Replays the events after `after`, then (in the same step) listens live or ends; returns the unsubscribe. */
  subscribe(after: number, listener: LogListener): () => void;
}

/** Creates an empty log. */
export function createEventLog(): EventLog {
  const events: StoredEvent[] = [];
  const listeners = new Set<LogListener>();
  let ended = false;

  return {
    get ended() {
      return ended;
    },
    get lastSequence() {
      return events.length - 1;
    },
    append(body) {
      const { type, ...fields } = body;
      const payload = { type, sequence_number: events.length, ...fields };
      const event: StoredEvent = { type, sequence_number: payload.sequence_number, payload, json: JSON.stringify(payload) };
      events.push(event);
      for (const listener of [...listeners]) listener.event(event);
      return event;
    },
    end() {
      if (ended) return;
      ended = true;
      for (const listener of [...listeners]) listener.end();
      listeners.clear();
    },
    subscribe(after, listener) {
      for (const event of events.slice(Math.max(0, after + 1))) listener.event(event);
      if (ended) {
        listener.end();
        return () => {};
      }
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
  };
}
