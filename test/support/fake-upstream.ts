import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';

/** A hostile or scripted upstream on 127.0.0.1:0: every request goes to `handle`. */
export interface FakeUpstream {
  /** Base URL of its vendor API (`…/v3/midjourney`). */
  url: string;
  /** Every request it got, in order, with its body. */
  requests: { method: string; path: string; headers: Headers; body: string }[];
  close(): Promise<void>;
}

export type FakeHandler = (request: Request, path: string) => Response | Promise<Response>;

export async function startFakeUpstream(handle: FakeHandler): Promise<FakeUpstream> {
  const requests: FakeUpstream['requests'] = [];
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve(
      {
        port: 0,
        hostname: '127.0.0.1',
        fetch: async (request) => {
          const path = new URL(request.url).pathname.replace(/^\/v3\/midjourney/, '');
          const body = await request.clone().text();
          requests.push({ method: request.method, path, headers: request.headers, body });
          return handle(request, path);
        },
      },
      () => resolve(s),
    );
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v3/midjourney`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        if ('closeAllConnections' in server) server.closeAllConnections();
      }),
  };
}

/** An SSE response of these `data:` payloads, one event each. */
export function sseResponse(payloads: string[]): Response {
  return new Response(payloads.map((data) => `data: ${data}\n\n`).join(''), {
    status: 200,
    headers: { 'Content-Type': 'text/event-stream' },
  });
}
