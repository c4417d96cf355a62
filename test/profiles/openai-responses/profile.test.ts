import { describe, expect, it } from 'vitest';
import { RelayError } from '../../../src/core/errors.ts';
import { errorEventData, upstreamFailure } from '../../../src/profiles/openai-responses/errors.ts';
import {
  cancelRequest,
  earlyEndEvent,
  eventType,
  openaiResponses,
  parseOpenAIEvent,
} from '../../../src/profiles/openai-responses/profile.ts';

describe('parseOpenAIEvent', () => {
  it('keeps the JSON byte for byte and reads type, sequence_number, the response id and object', () => {
    const data = '{"type":"response.created","sequence_number":0,"response":{"id":"resp_1","object":"response","status":"queued"}}';
    expect(parseOpenAIEvent(data)).toEqual({
      seq: 0,
      type: 'response.created',
      data,
      terminal: false,
      jobId: 'resp_1',
      job: { id: 'resp_1', object: 'response', status: 'queued' },
    });
    const delta = '{"type":"response.output_text.delta","sequence_number":5,"delta":"Hi"}';
    expect(parseOpenAIEvent(delta)).toEqual({ seq: 5, type: 'response.output_text.delta', data: delta, terminal: false });
    for (const type of ['response.completed', 'response.failed', 'response.incomplete'])
      expect(parseOpenAIEvent(`{"type":"${type}","sequence_number":9,"response":{"id":"r"}}`)).toMatchObject({ terminal: true });
    expect(parseOpenAIEvent('{"type":"error","sequence_number":3,"error":{"code":"x"}}')).toMatchObject({ terminal: false });
  });

  it.each([
    ['nope', 'not JSON'],
    ['[1]', 'not a JSON object'],
    ['{"sequence_number":1}', 'missing type'],
    ['{"type":"x"}', 'missing or invalid seq'],
    ['{"type":"x","sequence_number":-1}', 'missing or invalid seq'],
  ])('rejects %s', (data, reason) => {
    expect(parseOpenAIEvent(data)).toBe(reason);
  });
});

describe('synthesized events and requests', () => {
  it('a polled response becomes response.<status> (cancelled: response.failed), terminal when the status is', () => {
    const now = new Date('2026-12-01T12:00:00Z');
    const done = openaiResponses.statusEvent(7, { id: 'resp_1', status: 'completed' });
    expect(JSON.parse(done.data)).toEqual({
      type: 'response.completed',
      sequence_number: 7,
      response: { id: 'resp_1', status: 'completed' },
    });
    expect(done).toMatchObject({ terminal: true, jobId: 'resp_1' });
    expect(openaiResponses.statusEvent(8, { id: 'r', status: 'cancelled' })).toMatchObject({
      type: 'response.failed',
      terminal: true,
    });
    expect(openaiResponses.statusEvent(8, { id: 'r', status: 'in_progress' })).toMatchObject({
      type: 'response.in_progress',
      terminal: false,
    });
    // A synthesized failure names the response and keeps what was known of it.
    const last = {
      id: 'resp_9',
      object: 'response',
      created_at: 1741476542,
      model: 'gpt-4o',
      status: 'in_progress',
      background: true,
      output: [{ id: 'msg_1' }],
      metadata: { a: 'b' },
    };
    const synthesized = openaiResponses.terminalEvent(9, 'deadline', now, { jobId: 'resp_9', last });
    expect(JSON.parse(synthesized.data)).toEqual({
      type: 'response.failed',
      sequence_number: 9,
      response: {
        ...last,
        status: 'failed',
        completed_at: null,
        error: { code: 'server_error', message: 'deadline' },
        incomplete_details: null,
        usage: null,
      },
    });
    expect(synthesized).toMatchObject({ terminal: true, jobId: 'resp_9', job: { id: 'resp_9', status: 'failed' } });
    expect(parseOpenAIEvent(synthesized.data)).toMatchObject({ jobId: 'resp_9', terminal: true, seq: 9 });
    // Nothing known but the id: the vendor's required fields all the same.
    expect(JSON.parse(openaiResponses.terminalEvent(3, 'gone', now, { jobId: 'resp_3' }).data).response).toEqual({
      id: 'resp_3',
      object: 'response',
      created_at: Math.floor(now.getTime() / 1000),
      model: null,
      status: 'failed',
      completed_at: null,
      error: { code: 'server_error', message: 'gone' },
      incomplete_details: null,
      output: [],
      usage: null,
    });
  });

  it('asks upstream for background, stream and store, and resumes with starting_after', () => {
    expect(openaiResponses.createRequest('responses', { model: 'm', input: 'x', background: false })).toEqual({
      method: 'POST',
      path: '/responses',
      body: { model: 'm', input: 'x', background: true, stream: true, store: true },
      stream: true,
    });
    expect(openaiResponses.resumeRequest('resp_1', 4).path).toBe('/responses/resp_1?stream=true&starting_after=4');
    expect(openaiResponses.resumeRequest('resp_1', -1).path).toBe('/responses/resp_1?stream=true');
    expect(cancelRequest('resp_1')).toEqual({ method: 'POST', path: '/responses/resp_1/cancel' });
    expect(openaiResponses.createdAt({ created_at: 1741476542 })).toBe(1741476542000);
  });

  it('names frames by type, cheaply or by parsing; the early end is a nested error event', () => {
    expect(eventType('{"type":"response.created","sequence_number":0}')).toBe('response.created');
    expect(eventType('{"sequence_number":0,"type":"keepalive"}')).toBe('keepalive');
    expect(eventType('not json')).toBeUndefined();
    expect(JSON.parse(earlyEndEvent(4))).toMatchObject({ type: 'error', sequence_number: 5, error: { type: 'server_error' } });
  });

  it("an error after a stream began is the vendor's nested error event: ours, the vendor's refusal, or an internal one", () => {
    expect(JSON.parse(errorEventData(new RelayError('queue_timeout', 'no upstream capacity within 1000 ms')))).toEqual({
      type: 'error',
      sequence_number: 0,
      error: { type: 'server_error', code: 'queue_timeout', message: 'no upstream capacity within 1000 ms', param: null },
    });
    const refusal = upstreamFailure(
      {
        status: 400,
        body: { error: { message: 'bad model sk-x', type: 'invalid_request_error', param: 'model', code: 'model_not_found' } },
      },
      (text) => text.replace('sk-x', '[redacted]'),
    );
    expect(JSON.parse(errorEventData(refusal)).error).toEqual({
      message: 'bad model [redacted]',
      type: 'invalid_request_error',
      param: 'model',
      code: 'model_not_found',
    });
    expect(JSON.parse(errorEventData(new Error('boom'))).error).toMatchObject({
      type: 'server_error',
      code: 'internal',
      message: 'internal error',
    });
  });
});
