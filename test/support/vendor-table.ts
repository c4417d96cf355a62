import type { UpstreamRequest } from '../../src/core/profile.ts';
import type { StreamResult, UpstreamClient } from '../../src/core/ingest/upstream.ts';

/** A made-up vendor as an upstream client: answers each request by `METHOD path` from the test's table (else 404), counting them. */
export function vendorTable(routes: Record<string, (request: UpstreamRequest) => StreamResult>) {
  const calls: string[] = [];
  const client: UpstreamClient = {
    async send(request) {
      const result = await client.open(request);
      if (result.kind !== 'reply') throw new Error('expected a reply');
      return result.reply;
    },
    async open(request) {
      const key = `${request.method} ${request.path}`;
      calls.push(key);
      const route = routes[key];
      return route ? route(request) : { kind: 'reply', reply: { status: 404, body: {} } };
    },
  };
  return { client, calls };
}
