import { describe, expect, it } from 'vitest';
import type { Logger } from '../../src/core/logger.ts';
import { createRedactor } from '../../src/core/redact.ts';
import type { QueuedCreate } from '../../src/http/queued-create.ts';
import { queuedStream } from '../../src/http/queued-stream.ts';
import type { Relay } from '../../src/core/relay.ts';

const SECRET = 'upstream-secret-0123456789';

/** A logger that keeps its lines, as the Node logger would write them. */
function keepingLogger(lines: { fields: Record<string, unknown>; message: string }[]): Logger {
  const keep = (fields: Record<string, unknown>, message: string) => void lines.push({ fields, message });
  return { debug: keep, info: keep, warn: keep, error: keep };
}

/** A create that had to wait, then failed with `err`. */
function failedCreate(err: unknown): QueuedCreate {
  return { outcome: Promise.reject(err), waiting: Promise.resolve(), position: () => 1, onPosition() {} };
}

async function text(response: Response): Promise<string> {
  return new TextDecoder().decode(await response.arrayBuffer());
}

describe('queuedStream', () => {
  it('answers an unexpected failure as "internal error" and logs it with its cause, redacted', async () => {
    const lines: { fields: Record<string, unknown>; message: string }[] = [];
    const cause = new Error(`socket reset talking to ${SECRET}`);
    const failure = new Error('could not start the job', { cause });
    const response = queuedStream(failedCreate(failure), {
      retryMs: 1000,
      maxQueuedBytes: 1 << 20,
      maxReplay: 100,
      heartbeatMs: 60_000,
      headers: {},
      subscribe: (() => Promise.reject(new Error('not reached'))) as Relay['subscribe'],
      refusal: () => new Error('not reached'),
      leave() {},
      onClose() {},
      logger: keepingLogger(lines),
      redact: createRedactor([SECRET]),
    });
    const body = await text(response);
    expect(body).toContain('event: queue_error');
    expect(body).toContain('"error":"internal error"');
    expect(body).not.toContain('could not start');
    expect(lines).toHaveLength(1);
    const logged = String(lines[0]?.fields.err);
    expect(logged).toContain('could not start the job');
    expect(logged).toContain('caused by: Error: socket reset talking to [redacted]');
    expect(logged).not.toContain(SECRET);
  });
});
