import { describe, expect, it } from 'vitest';
import { encodeComment, encodeEvent, encodeRetry, encodeUnnumberedEvent, SSE_HEADERS } from '../../../src/core/fanout/sse.ts';

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describe('SSE framing', () => {
  it('frames one event as id, data, blank line', () => {
    expect(text(encodeEvent(3, '{"event":"x","seq":3}'))).toBe('id: 3\ndata: {"event":"x","seq":3}\n\n');
  });

  it('splits multi-line data on LF, CRLF and CR into one data field per line', () => {
    expect(text(encodeEvent(1, 'a\nb\r\nc\rd'))).toBe('id: 1\ndata: a\ndata: b\ndata: c\ndata: d\n\n');
  });

  it('keeps an empty data line', () => {
    expect(text(encodeEvent(1, ''))).toBe('id: 1\ndata: \n\n');
  });

  it('encodes unicode as UTF-8 bytes', () => {
    const bytes = encodeEvent(7, '{"p":"猫 🐱 é"}');
    expect(text(bytes)).toBe('id: 7\ndata: {"p":"猫 🐱 é"}\n\n');
    expect(bytes.byteLength).toBeGreaterThan(text(bytes).length);
  });

  it('never lets CR or LF in an id or event name start a new field', () => {
    expect(text(encodeEvent('1\r\nevent: evil', 'x', 'a\nretry: 1'))).toBe('id: 1event: evil\nevent: aretry: 1\ndata: x\n\n');
  });

  it('writes unnumbered events, comments and retry', () => {
    expect(text(encodeUnnumberedEvent('gap', '{"from":1,"to":4}'))).toBe('event: gap\ndata: {"from":1,"to":4}\n\n');
    expect(text(encodeComment())).toBe(':\n\n');
    expect(text(encodeComment('hi\nthere'))).toBe(': hi\n: there\n\n');
    expect(text(encodeRetry(2500.7))).toBe('retry: 2500\n\n');
  });

  it('declares the headers proxies need to stream', () => {
    expect(SSE_HEADERS['Content-Type']).toMatch(/^text\/event-stream/);
    expect(SSE_HEADERS['Cache-Control']).toBe('no-cache, no-transform');
    expect(SSE_HEADERS['X-Accel-Buffering']).toBe('no');
  });
});
