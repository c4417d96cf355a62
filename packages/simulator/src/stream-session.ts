import type { SimEvent } from './events.ts';
import { garbageFrames } from './garbage.ts';
import { createSseSink, dataFrame } from './sse-sink.ts';

/** The one stream a `stream:true` request gets: the job run sends events, the session decides what bytes go out. */
export interface StreamSession {
  readonly body: ReadableStream<Uint8Array>;
  send(event: SimEvent, at: number): void;
  end(): void;
}

/** Options from the scenario: junk to mix in, and how many valid events to write before closing early. */
export interface StreamSessionOptions {
  garbage?: boolean;
  dropAfter?: number;
}

/** Creates a session; after `dropAfter` valid events it closes the body cleanly while the job runs on. */
export function createStreamSession(options: StreamSessionOptions = {}): StreamSession {
  const sink = createSseSink();
  let written = 0;
  const dropAfter = options.dropAfter;
  if (dropAfter === 0) sink.close();
  return {
    body: sink.body,
    send(event, at) {
      if (sink.closed) return;
      const frames = options.garbage ? garbageFrames(event, written, at) : [dataFrame(JSON.stringify(event))];
      for (const frame of frames) sink.write(frame);
      written++;
      if (dropAfter !== undefined && written >= dropAfter) sink.close();
    },
    end() {
      sink.close();
    },
  };
}
