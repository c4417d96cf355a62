/** What a path under the queue host asks for. Submit takes the full model id; the rest take `owner/app` only. */
export type QueueRoute =
  | { kind: 'submit'; appId: string; endpoint: string }
  | { kind: 'status' | 'stream' | 'result' | 'cancel'; appId: string; requestId: string };

/** Id prefixes that make an app id three segments long (`parseEndpointId` in `@fal-ai/client`). */
const NAMESPACES = ['workflows', 'comfy'];
const SEGMENT = /^[A-Za-z0-9._~-]+$/;

/**
 * Reads `POST /{owner}/{app}[/{path}]`, `GET …/requests/{id}[/status[/stream]]` and `PUT …/requests/{id}/cancel`
 * (the path below the queue host); anything else is undefined (a 404).
 */
export function parseQueuePath(method: string, path: string): QueueRoute | undefined {
  const segments = path.replace(/^\//, '').split('/');
  if (!segments.every((segment) => SEGMENT.test(segment))) return undefined;
  const appLength = NAMESPACES.includes(segments[0] ?? '') ? 3 : 2;
  if (segments.length < appLength) return undefined;
  const appId = segments.slice(0, appLength).join('/');
  if (method === 'POST') return { kind: 'submit', appId, endpoint: segments.join('/') };
  const [requests, requestId, ...tail] = segments.slice(appLength);
  if (requests !== 'requests' || requestId === undefined) return undefined;
  const action = tail.join('/');
  if (method === 'GET' && action === '') return { kind: 'result', appId, requestId };
  if (method === 'GET' && action === 'status') return { kind: 'status', appId, requestId };
  if (method === 'GET' && action === 'status/stream') return { kind: 'stream', appId, requestId };
  if (method === 'PUT' && action === 'cancel') return { kind: 'cancel', appId, requestId };
  return undefined;
}
