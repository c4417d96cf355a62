import type { MessageItem, ResponseObject, ResponseStatus, Usage } from './response-object.ts';
import { obfuscation, vendorId } from './text.ts';

/** An event before the log numbers it: `type` first, then its fields. */
export type EventBody = { type: string } & Record<string, unknown>;

/** A response being generated: each step changes the object and returns the event announcing it (payloads are copies). */
export interface ResponseState {
  readonly response: ResponseObject;
  created(): EventBody;
  queued(): EventBody;
  inProgress(): EventBody;
  itemAdded(): EventBody;
  partAdded(): EventBody;
  delta(text: string): EventBody;
  textDone(): EventBody;
  partDone(): EventBody;
  itemDone(status: 'completed' | 'incomplete'): EventBody;
  completed(): EventBody;
  incomplete(reason: string): EventBody;
  failed(message: string): EventBody;
  /** The nested `error` event first-party streams send; it changes nothing. */
  error(message: string): EventBody;
  /** The cancelled response, announced as `response.failed` with `status: "cancelled"` (a secondary source). */
  cancelled(): EventBody;
  keepalive(): EventBody;
}

/** Wraps a new response object; `inputTokens` is billed into `usage` when it ends. */
export function createResponseState(initial: ResponseObject, inputTokens: number, now: () => number): ResponseState {
  const response = initial;
  const message: MessageItem = { id: vendorId('msg'), type: 'message', status: 'in_progress', role: 'assistant', content: [] };
  let outputTokens = 0;

  const copy = <T>(value: T): T => structuredClone(value);
  const lifecycle = (type: string, status?: ResponseStatus): EventBody => {
    if (status) response.status = status;
    return { type: `response.${type}`, response: copy(response) };
  };
  const indices = () => ({ item_id: message.id, output_index: 0, content_index: 0 });
  const part = () => message.content[0] ?? { type: 'output_text' as const, text: '', annotations: [] };
  const usage = (): Usage => ({
    input_tokens: inputTokens,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: outputTokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: inputTokens + outputTokens,
  });
  const end = (status: ResponseStatus) => {
    if (message.status === 'in_progress') message.status = 'incomplete';
    response.usage = usage();
    return lifecycle(status === 'cancelled' ? 'failed' : status, status);
  };

  return {
    response,
    created: () => lifecycle('created'),
    queued: () => lifecycle('queued'),
    inProgress: () => lifecycle('in_progress', 'in_progress'),
    itemAdded() {
      response.output.push(message);
      return { type: 'response.output_item.added', output_index: 0, item: copy({ ...message, content: [] }) };
    },
    partAdded() {
      message.content.push({ type: 'output_text', text: '', annotations: [] });
      return { type: 'response.content_part.added', ...indices(), part: copy(part()) };
    },
    delta(text) {
      part().text += text;
      outputTokens++;
      return { type: 'response.output_text.delta', ...indices(), delta: text, logprobs: [], obfuscation: obfuscation(text) };
    },
    textDone: () => ({ type: 'response.output_text.done', ...indices(), text: part().text, logprobs: [] }),
    partDone: () => ({ type: 'response.content_part.done', ...indices(), part: copy(part()) }),
    itemDone(status) {
      message.status = status;
      return { type: 'response.output_item.done', output_index: 0, item: copy(message) };
    },
    completed() {
      response.completed_at = Math.floor(now() / 1000);
      return end('completed');
    },
    incomplete(reason) {
      response.incomplete_details = { reason };
      return end('incomplete');
    },
    failed(message) {
      response.error = { code: 'server_error', message };
      return end('failed');
    },
    error: (message) => ({ type: 'error', error: { type: 'server_error', code: 'server_error', message, param: null } }),
    cancelled() {
      // Azure's compatible server clears the output of a cancelled response (a secondary source).
      response.output = [];
      return end('cancelled');
    },
    keepalive: () => ({ type: 'keepalive' }),
  };
}
