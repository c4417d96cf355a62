import { EventSource, type EventSourceFetchInit } from 'eventsource';
import { type SubscriberRecord, recordMessage } from './record.ts';

export interface EventSourceSubscriberOptions {
  /** Where it records what it gets (the scenario watches it live). */
  record: SubscriberRecord;
  /** The stream URL on the instance for connect n: the fetch below acts as a load balancer. */
  urlFor(attempt: number): string;
  deadlineMs: number;
  stopped(): boolean;
}

/**
 * The `eventsource` package, as a browser would run it: its own reconnects with Last-Event-ID
 * and `retry:`. Each of its fetches goes to the next instance (a load balancer in front), and
 * the body is teed so every byte is checked. When it gives up (a refused connect closes an
 * EventSource), the app reopens it with `?since=` the last id, as the README's page does.
 */
export function runEventSourceSubscriber(options: EventSourceSubscriberOptions): Promise<SubscriberRecord> {
  const { record } = options;
  let attempt = 0;
  let lastId: string | undefined;
  const deadline = Date.now() + options.deadlineMs;

  const balancedFetch = async (_url: string | URL, init: EventSourceFetchInit) => {
    const target = new URL(options.urlFor(attempt++));
    if (lastId !== undefined && !(init.headers as Record<string, string> | undefined)?.['Last-Event-ID']) {
      target.searchParams.set('since', lastId);
    }
    const response = await fetch(target, init as RequestInit);
    if (response.status !== 200 || !response.body) {
      if (response.status !== 204) record.refusals.push(response.status);
      record.raw.push(await response.clone().text());
      return response;
    }
    record.connections++;
    const decoder = new TextDecoder();
    const tee = new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        record.raw.push(decoder.decode(chunk, { stream: true }));
        controller.enqueue(chunk);
      },
    });
    return new Response(response.body.pipeThrough(tee), { status: response.status, headers: response.headers });
  };

  return new Promise((resolve) => {
    let source: EventSource;
    const finish = (failure?: string) => {
      clearInterval(watch);
      source.close();
      if (failure && !record.terminal) record.failure = failure;
      resolve(record);
    };
    const open = () => {
      source = new EventSource(options.urlFor(0), { fetch: balancedFetch });
      const onMessage = (message: MessageEvent<string>) => {
        if (message.lastEventId) lastId = message.lastEventId;
        const terminal = recordMessage(record, { id: message.lastEventId, event: message.type, data: message.data });
        if (terminal) finish();
      };
      source.addEventListener('message', onMessage);
      source.addEventListener('gap', (message) => recordMessage(record, { event: 'gap', data: (message as MessageEvent<string>).data }));
      source.addEventListener('error', () => {
        if (source.readyState === EventSource.CLOSED && !record.terminal) setTimeout(open, 200);
      });
    };
    const watch = setInterval(() => {
      if (record.terminal) finish();
      else if (Date.now() > deadline) finish(`no terminal event after ${options.deadlineMs} ms (${record.events.length} events)`);
      else if (options.stopped()) finish('scenario ended first');
    }, 100);
    open();
  });
}
