/** The three states of a queued request; a failed or cancelled request also ends `COMPLETED`. */
export type FalStatusName = 'IN_QUEUE' | 'IN_PROGRESS' | 'COMPLETED';

/** One log line, as `logs` entries carry it (`types/common.ts` in `@fal-ai/client`). */
export interface FalLog {
  message: string;
  level: 'STDERR' | 'STDOUT' | 'ERROR' | 'INFO' | 'WARN' | 'DEBUG';
  source: 'USER';
  timestamp: string;
}

/** The URLs every queue answer carries; they name `owner/app` only, never the model path. */
export interface FalUrls {
  response_url: string;
  status_url: string;
  cancel_url: string;
}

/** What the status calls describe of a request at one moment. */
export interface FalRequestView {
  requestId: string;
  status: FalStatusName;
  /** 0-indexed; meaningful while `IN_QUEUE`. */
  queuePosition: number;
  logs: readonly FalLog[];
  /** Seconds spent `IN_PROGRESS`, once `COMPLETED`. */
  inferenceSeconds?: number;
  /** Set on a `COMPLETED` request whose result is an error. */
  error?: { message: string; type?: string };
}

/** `<queueBase>/<appId>/requests/<id>[/status|/cancel]`, where `queueBase` stands for `https://queue.fal.run`. */
export function queueUrls(queueBase: string, appId: string, requestId: string): FalUrls {
  const response = `${queueBase}/${appId}/requests/${requestId}`;
  return { response_url: response, status_url: `${response}/status`, cancel_url: `${response}/cancel` };
}

/** The submit answer, keys in the order of fal's example. */
export function submitAnswer(view: FalRequestView, urls: FalUrls): Record<string, unknown> {
  return { status: 'IN_QUEUE', request_id: view.requestId, ...urls, queue_position: view.queuePosition };
}

/**
 * A status object as polling and the status stream send it: `queue_position` while `IN_QUEUE`, `logs`
 * (always present, maybe empty) after, `metrics` and any `error`/`error_type` once `COMPLETED`.
 */
export function statusObject(view: FalRequestView, urls: FalUrls, logs: readonly FalLog[]): Record<string, unknown> {
  const ids = { request_id: view.requestId, ...urls };
  if (view.status === 'IN_QUEUE') return { status: view.status, queue_position: view.queuePosition, ...ids };
  if (view.status === 'IN_PROGRESS') return { status: view.status, logs, ...ids };
  const completed: Record<string, unknown> = {
    status: view.status,
    logs,
    metrics: { inference_time: view.inferenceSeconds ?? 0 },
    ...ids,
  };
  if (view.error) {
    completed.error = view.error.message;
    if (view.error.type !== undefined) completed.error_type = view.error.type;
  }
  return completed;
}
