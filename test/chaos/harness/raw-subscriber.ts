import { createParser } from 'eventsource-parser';
import { type SubscriberRecord, recordMessage } from './record.ts';
import { sleep } from '../../support/until.ts';

export interface RawSubscriberOptions {
  /** Where it records what it gets (the scenario watches it live). */
  record: SubscriberRecord;
  /** The stream URL on the instance for attempt n (a load balancer's choice; dead ones are skipped by retrying). */
  urlFor(attempt: number): string;
  /** Gives up (and records a failure) after this long. */
  deadlineMs: number;
  /** Drops its own connection after this many events once, then reconnects (resume with Last-Event-ID). */
  reconnectAfter?: number;
  /** Waits this long between reads (a slow consumer; TCP pushes back on the server). */
  readDelayMs?: number;
  /** Reads nothing for this long after connecting the first time. */
  stallMs?: number;
  /** Stops reconnecting when true (the scenario is over). */
  stopped(): boolean;
}

/**
 * A light EventSource: GET with `Last-Event-ID`, honours `retry:`, reconnects after the stream
 * ends or breaks (also after a refused connect, like an app reopening a closed EventSource), stops
 * at the terminal event or a 204.
 */
export async function runRawSubscriber(options: RawSubscriberOptions): Promise<SubscriberRecord> {
  const { record } = options;
  const deadline = Date.now() + options.deadlineMs;
  let lastId: string | undefined;
  let retryMs = 1000;
  let dropped = false;
  let stalled = false;
  for (let attempt = 0; !record.terminal; attempt++) {
    if (Date.now() > deadline) {
      record.failure = `no terminal event after ${options.deadlineMs} ms (${record.events.length} events, ${record.connections} connections)`;
      break;
    }
    if (options.stopped()) {
      record.failure = 'scenario ended first';
      break;
    }
    if (attempt > 0) await sleep(retryMs + Math.random() * 100);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), Math.max(1, deadline - Date.now()));
    try {
      const headers: Record<string, string> = {};
      if (lastId !== undefined) headers['Last-Event-ID'] = lastId;
      const response = await fetch(options.urlFor(attempt), { headers, signal: controller.signal });
      if (response.status === 204) {
        await response.body?.cancel();
        if (!record.terminal) record.failure = '204 before the terminal event was received';
        break;
      }
      if (response.status !== 200 || !response.body) {
        record.refusals.push(response.status);
        record.raw.push(await response.text());
        continue;
      }
      record.connections++;
      let drop = false;
      const parser = createParser({
        onEvent(message) {
          if (message.id !== undefined && message.id !== '') lastId = message.id;
          recordMessage(record, message);
          if (!dropped && options.reconnectAfter !== undefined && record.events.length >= options.reconnectAfter) drop = true;
        },
        onRetry(ms) {
          retryMs = ms;
        },
      });
      const decoder = new TextDecoder();
      const reader = response.body.getReader();
      if (!stalled && options.stallMs) {
        stalled = true;
        await sleep(options.stallMs);
      }
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        const text = decoder.decode(value, { stream: true });
        record.raw.push(text);
        parser.feed(text);
        if (record.terminal) break;
        if (drop && !dropped) {
          dropped = true;
          break;
        }
        if (options.readDelayMs) await sleep(options.readDelayMs);
      }
      await reader.cancel().catch(() => undefined);
    } catch {
      // Connection refused or broken: reconnect, like EventSource.
    } finally {
      clearTimeout(timer);
    }
  }
  return record;
}
