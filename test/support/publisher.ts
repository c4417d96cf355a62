/** A publisher of the publish API, as the tests drive it: keys, URLs, a JSON publish and an NDJSON stream. */

/** The `render` namespace's key, and the `other` namespace's. */
export const PUBLISHER_KEY = 'pub-render-0123456789abcdef';
export const OTHER_PUBLISHER_KEY = 'pub-other-0123456789abcdef0';
/** PUBLISHERS for a gateway with both namespaces. */
export const PUBLISHERS = `render:${PUBLISHER_KEY},other:${OTHER_PUBLISHER_KEY}`;

export const eventsUrl = (base: string, namespace: string, jobId: string) =>
  `${base}/v1/jobs/${namespace}/${encodeURIComponent(jobId)}/events`;
export const publishedStreamUrl = (base: string, namespace: string, jobId: string, query = '') =>
  `${base}/v1/jobs/${namespace}/${encodeURIComponent(jobId)}/stream${query}`;

let counter = 0;
/** A job id no other test uses. */
export const newPublishedJob = (label = 'job') => `${label}-${Date.now()}-${counter++}`;

/** POSTs `body` (JSON) to a job's events with `key`; the status and the parsed answer. */
export async function publishJson(
  base: string,
  jobId: string,
  body: unknown,
  { key = PUBLISHER_KEY, namespace = 'render' }: { key?: string | null; namespace?: string } = {},
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const response = await fetch(eventsUrl(base, namespace, jobId), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(key === null ? {} : { Authorization: `Bearer ${key}` }) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown>, headers: response.headers };
}

/**
 * Streams `lines` as one NDJSON request, one line every `intervalMs` (Node's fetch with a streaming
 * body, as a worker reporting as it goes); resolves with the status and answer once the request ends.
 */
export async function publishNdjson(
  base: string,
  jobId: string,
  lines: readonly unknown[],
  { key = PUBLISHER_KEY, namespace = 'render', intervalMs = 0 }: { key?: string; namespace?: string; intervalMs?: number } = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const encoder = new TextEncoder();
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (sent >= lines.length) return controller.close();
      if (sent > 0 && intervalMs > 0) await new Promise((resolve) => setTimeout(resolve, intervalMs));
      controller.enqueue(encoder.encode(`${JSON.stringify(lines[sent++])}\n`));
    },
  });
  const init = {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-ndjson', Authorization: `Bearer ${key}` },
    body,
    duplex: 'half',
  };
  const response = await fetch(eventsUrl(base, namespace, jobId), init as RequestInit);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}
