import { describe, expect, it } from 'vitest';
import { createRedactor } from '../../src/core/redact.ts';
import { logRequest } from '../../src/http/access-log.ts';
import { createNodeLogger } from '../../src/node/logger.ts';

const SECRET = 'sk-access-line-secret-0123456789';

/** Two lines for the same request: the logger's own access line and pino's for the same fields, times made equal. */
function bothLines(level: string, reqId: string | undefined, path: string, ip: string): [string | undefined, string | undefined] {
  const lines: string[] = [];
  const logger = createNodeLogger({
    level,
    instance: 'inst-1',
    redact: createRedactor([SECRET]),
    destination: { write: (line: string) => void lines.push(line) },
  });
  logger.request?.(reqId, 'GET', path, 200, 1.5, ip);
  const direct = lines.pop();
  logger.info({ reqId, method: 'GET', path, status: 200, ms: 1.5, ip }, 'request');
  const viaPino = lines.pop();
  const sameTime = (line: string | undefined) => line?.replace(/"time":\d+/, '"time":0');
  return [sameTime(direct), sameTime(viaPino)];
}

describe('the Node logger’s access line', () => {
  it('is byte for byte the line pino writes for the same fields, whatever the path holds', () => {
    const paths = ['/v1/jobs/p/j-1/stream', '/v1/jobs/p/a"b\\c/stream', '/v1/jobs/p/é ü 日本/stream', '/v1/jobs/p/\u0001\t\n/stream'];
    for (const path of paths) {
      const [direct, viaPino] = bothLines('info', 'req-1', path, '127.0.0.1');
      expect(direct).toBeDefined();
      expect(direct).toBe(viaPino);
      expect(JSON.parse(direct as string)).toMatchObject({ level: 30, service: 'sse-relay', instance: 'inst-1', path, msg: 'request' });
    }
    // A lone surrogate: escaped, so the line stays valid UTF-8 and JSON (pino writes it raw, and it becomes U+FFFD on the way out).
    const [lone] = bothLines('info', 'req-1', '/v1/jobs/p/\ud800/stream', '127.0.0.1');
    expect(lone).toContain('"path":"/v1/jobs/p/\\ud800/stream"');
    expect(JSON.parse(lone as string).path).toBe('/v1/jobs/p/\ud800/stream');
    const [noId, noIdViaPino] = bothLines('info', undefined, '/healthz', '::1');
    expect(noId).toBe(noIdViaPino);
    expect(noId).not.toContain('reqId');
  });

  it('redacts every field, in every encoding the redactor knows, as the generic path does', () => {
    const encoded = Buffer.from(SECRET).toString('base64');
    const [direct, viaPino] = bothLines('info', `id-${SECRET}`, `/v1/jobs/p/${SECRET}/stream?x=${encoded}`, SECRET);
    expect(direct).toBe(viaPino);
    expect(direct).not.toContain(SECRET);
    expect(direct).not.toContain(encoded);
    expect(direct).toContain('[redacted]');
  });

  it('writes nothing below its level, and logRequest takes the same path', () => {
    expect(bothLines('warn', 'r', '/x', '1.2.3.4')).toEqual([undefined, undefined]);
    const lines: string[] = [];
    const logger = createNodeLogger({
      level: 'info',
      instance: 'i',
      redact: (t) => t,
      destination: { write: (line: string) => void lines.push(line) },
    });
    logRequest(logger, 'r-2', 'POST', '/v1/jobs/p', 201, performance.now(), '10.0.0.1');
    expect(JSON.parse(lines[0] as string)).toMatchObject({
      reqId: 'r-2',
      method: 'POST',
      path: '/v1/jobs/p',
      status: 201,
      ip: '10.0.0.1',
      msg: 'request',
    });
  });
});
