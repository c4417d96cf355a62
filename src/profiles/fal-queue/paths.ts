/** What a path under fal's queue host asks for, and which `x-fal-target-url` targets the proxy path takes. */
import { RelayError } from '../../core/errors.ts';
import { isValidJobId } from '../../core/ingest/job-id.ts';
import { appIdOf, falJobId } from './profile.ts';

/** A queue call: submit names the full model id; status, its stream, result and cancel name `owner/app` and the request. */
export type FalQueueCall =
  | { kind: 'submit'; endpoint: string }
  | { kind: 'status' | 'stream' | 'result' | 'cancel'; jobId: string; requestId: string };

/**
 * Reads `POST /{owner}/{app}[/{path}]`, `GET …/requests/{id}[/status[/stream]]` and
 * `PUT …/requests/{id}/cancel` (the path below the queue host); anything else is undefined.
 */
export function parseQueueCall(method: string, path: string): FalQueueCall | undefined {
  const endpoint = path.replace(/^\/+/, '');
  const appId = appIdOf(endpoint);
  if (appId === undefined) return undefined;
  if (method === 'POST') return { kind: 'submit', endpoint };
  const [requests, requestId, ...tail] = endpoint.slice(appId.length + 1).split('/');
  if (requests !== 'requests' || requestId === undefined) return undefined;
  const jobId = falJobId(appId, requestId);
  if (!isValidJobId(jobId)) return undefined;
  const action = tail.join('/');
  const read = method === 'GET' || method === 'HEAD';
  if (read && action === '') return { kind: 'result', jobId, requestId };
  if (read && action === 'status') return { kind: 'status', jobId, requestId };
  if (read && action === 'status/stream') return { kind: 'stream', jobId, requestId };
  if (method === 'PUT' && action === 'cancel') return { kind: 'cancel', jobId, requestId };
  return undefined;
}

/** fal's queue host: its targets are served by the profile itself. */
export const FAL_QUEUE_HOST = 'queue.fal.run';

/** fal's hosts besides the queue that the proxy relays to (with the key) when the queue is fal's own. */
export const FAL_DIRECT_ORIGINS: readonly string[] = ['https://fal.run', 'https://rest.fal.ai'];

/**
 * The `x-fal-target-url` allowlist of fal's own server proxy (`@fal-ai/server-proxy`):
 * `https://fal.run/**`, `https://queue.fal.run/**` and the storage upload URLs of
 * `https://rest.fal.ai`. Anything else (another host or scheme, a port, credentials in the URL
 * such as `https://queue.fal.run@127.0.0.1/`) is a 400.
 */
export function allowedTarget(raw: string | undefined): URL {
  if (raw === undefined || raw === '') throw new RelayError('bad_request', 'Invalid request: x-fal-target-url is required');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new RelayError('bad_request', 'Invalid request: x-fal-target-url is not a URL');
  }
  const plain = url.protocol === 'https:' && url.username === '' && url.password === '' && url.port === '';
  const host = url.hostname;
  const allowed = host === FAL_QUEUE_HOST || host === 'fal.run' || (host === 'rest.fal.ai' && url.pathname.startsWith('/storage/upload/'));
  if (!plain || !allowed) throw new RelayError('bad_request', 'Invalid request: x-fal-target-url is not a fal URL this proxy allows');
  return url;
}
