import type { CreateRequest } from './create-request.ts';

/** A response's lifecycle; `queued` and `in_progress` are the running states, the rest are terminal. */
export type ResponseStatus = 'queued' | 'in_progress' | 'completed' | 'failed' | 'cancelled' | 'incomplete';

/** The one content part the simulator writes. */
export interface OutputText {
  type: 'output_text';
  text: string;
  annotations: unknown[];
}

/** The assistant message that carries the generated text. */
export interface MessageItem {
  id: string;
  type: 'message';
  status: 'in_progress' | 'completed' | 'incomplete';
  role: 'assistant';
  content: OutputText[];
}

/** Token counts of a finished response. */
export interface Usage {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

/** The vendor's Response object, keys in the order of the spec's example, as polls and lifecycle events carry it. */
export interface ResponseObject {
  id: string;
  object: 'response';
  created_at: number;
  status: ResponseStatus;
  background: boolean;
  completed_at: number | null;
  error: { code: string; message: string } | null;
  incomplete_details: { reason: string } | null;
  instructions: unknown;
  max_output_tokens: number | null;
  model: string;
  output: MessageItem[];
  parallel_tool_calls: unknown;
  previous_response_id: unknown;
  reasoning: unknown;
  store: boolean;
  temperature: unknown;
  text: unknown;
  tool_choice: unknown;
  tools: unknown;
  top_p: unknown;
  truncation: unknown;
  usage: Usage | null;
  user: unknown;
  metadata: Record<string, string>;
}

/** Whether a response has stopped changing. */
export function isTerminal(status: ResponseStatus): boolean {
  return status !== 'queued' && status !== 'in_progress';
}

/** A new response as the create answers it: `queued` in background mode, `in_progress` otherwise; request fields echoed back. */
export function createResponseObject(id: string, createdAtMs: number, request: CreateRequest): ResponseObject {
  const body = request.body;
  return {
    id,
    object: 'response',
    created_at: Math.floor(createdAtMs / 1000),
    status: request.background ? 'queued' : 'in_progress',
    background: request.background,
    completed_at: null,
    error: null,
    incomplete_details: null,
    instructions: body.instructions ?? null,
    max_output_tokens: request.maxOutputTokens ?? null,
    model: request.model,
    output: [],
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    previous_response_id: body.previous_response_id ?? null,
    reasoning: body.reasoning ?? { effort: null, summary: null },
    store: request.store,
    temperature: body.temperature ?? 1,
    text: body.text ?? { format: { type: 'text' } },
    tool_choice: body.tool_choice ?? 'auto',
    tools: body.tools ?? [],
    top_p: body.top_p ?? 1,
    truncation: body.truncation ?? 'disabled',
    usage: null,
    user: body.user ?? null,
    metadata: request.metadata,
  };
}
