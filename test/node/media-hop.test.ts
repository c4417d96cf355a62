import { type IncomingHttpHeaders, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RelayError } from '../../src/core/errors.ts';
import type { MediaSource } from '../../src/core/media/media.ts';
import { type MediaRequest, proxyMedia } from '../../src/http/media-proxy.ts';
import { createNodeMediaHop } from '../../src/node/media-hop.ts';

const SECRET = 'vendor-secret-0123456789abcdef';
const PNG = new Uint8Array(3000).map((_, i) => i % 251);

/** A media host: what it serves by path, and every request it saw. */
interface Host {
  origin: string;
  seen: { path: string; headers: IncomingHttpHeaders }[];
  server: Server;
}

/** What a test host answers to one path. */
interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: Uint8Array | Uint8Array[];
}

async function startHost(routes: (path: string, origin: string) => Answer) {
  const host = { seen: [] } as unknown as Host;
  host.server = createServer((req, res) => {
    host.seen.push({ path: req.url ?? '', headers: req.headers });
    const answer = routes(req.url ?? '', host.origin);
    res.writeHead(answer.status, answer.headers);
    const parts = answer.body === undefined ? [] : Array.isArray(answer.body) ? answer.body : [answer.body];
    for (const part of parts) res.write(part);
    res.end();
  });
  await new Promise<void>((resolve) => host.server.listen(0, '127.0.0.1', resolve));
  host.origin = `http://127.0.0.1:${(host.server.address() as AddressInfo).port}`;
  return host;
}

const media = (hosts: string[] = [], credentialHosts: string[] = []) => ({ urls: () => [], hosts, credentialHosts });
const request = (init: Partial<MediaRequest> = {}): MediaRequest => ({ method: 'GET', signal: new AbortController().signal, ...init });
const refusal = async (promise: Promise<unknown>) => {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RelayError);
  return { code: (err as RelayError).code, message: (err as RelayError).message };
};

describe('media proxy on Node: allowed hosts, redirects, addresses, size cap, credential', () => {
  let a: Host;
  let b: Host;
  beforeAll(async () => {
    b = await startHost(() => ({ status: 200, headers: { 'Content-Type': 'image/png' }, body: PNG }));
    a = await startHost((path): Answer => {
      if (path === '/img.png')
        return { status: 200, headers: { 'Content-Type': 'image/png', ETag: '"v1"', 'Set-Cookie': 'a=b' }, body: PNG };
      if (path === '/same') return { status: 302, headers: { Location: '/img.png' } };
      if (path === '/elsewhere') return { status: 302, headers: { Location: `${b.origin}/x.png` } };
      if (path === '/elsewhere-by-name')
        return { status: 301, headers: { Location: `http://localhost:${new URL(a.origin).port}/img.png` } };
      if (path === '/loop') return { status: 307, headers: { Location: '/loop' } };
      if (path === '/big')
        return { status: 200, headers: { 'Content-Type': 'image/png', 'Content-Length': String(PNG.byteLength) }, body: PNG };
      if (path === '/big-chunked') return { status: 200, headers: { 'Content-Type': 'image/png' }, body: [PNG, PNG] };
      if (path === '/page')
        return { status: 200, headers: { 'Content-Type': 'text/html' }, body: new TextEncoder().encode('<script>1</script>') };
      if (path === '/fail') return { status: 500, body: new TextEncoder().encode(`oops ${SECRET}`) };
      return { status: 404 };
    });
  });
  afterAll(() => Promise.all([a, b].map((host) => new Promise((resolve) => host.server.close(resolve)))));

  /** A source allowing both test hosts by origin; `a` alone is exempt from the address check (as the simulator is in dev mode). */
  const sourceOf = (extra: Partial<MediaSource> = {}): MediaSource => ({ media: media(), origins: [a.origin, b.origin], ...extra });
  const hopExemptA = () => createNodeMediaHop({ exemptOrigins: [a.origin] });
  const proxy = (url: string, source = sourceOf(), init: Partial<MediaRequest> = {}, maxBytes = 1 << 20) =>
    proxyMedia(source, url, request(init), { hop: hopExemptA(), maxBytes });

  it('streams a job’s media with its type, length and ETag, caching headers and nothing else of the host’s', async () => {
    const response = await proxy(`${a.origin}/same`);
    expect(response.status).toBe(200);
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(PNG);
    expect(response.headers.get('etag')).toBe('"v1"');
    expect(response.headers.get('cache-control')).toBe('private, max-age=31536000, immutable');
    expect(response.headers.get('set-cookie')).toBeNull();
    const again = await proxy(`${a.origin}/img.png`, sourceOf(), { ifNoneMatch: '"v1"' });
    // The host ignores If-None-Match here; it was forwarded all the same.
    expect(a.seen.at(-1)?.headers['if-none-match']).toBe('"v1"');
    await again.body?.cancel();
  });

  it('serves anything but image, video or audio as a download that cannot run as a page', async () => {
    const response = await proxy(`${a.origin}/page`);
    expect(response.headers.get('content-type')).toBe('application/octet-stream');
    expect(response.headers.get('content-disposition')).toBe('attachment');
    expect(response.headers.get('content-security-policy')).toBe("default-src 'none'; sandbox");
    await response.body?.cancel();
  });

  it('refuses a host the source does not allow, without a request to it', async () => {
    const before = b.seen.length;
    expect(await refusal(proxy(`${b.origin}/x.png`, sourceOf({ origins: [a.origin] })))).toEqual({
      code: 'forbidden',
      message: `media host not allowed for this profile: ${new URL(b.origin).host}`,
    });
    expect(b.seen.length).toBe(before);
  });

  it('follows a redirect on the same host, refuses one to another host (by address or by name) and a loop', async () => {
    const before = b.seen.length;
    const other = await refusal(proxy(`${a.origin}/elsewhere`));
    expect(other).toEqual({
      code: 'forbidden',
      message: `media host redirected to another host (${new URL(b.origin).host}); not followed`,
    });
    expect(b.seen.length).toBe(before);
    expect((await refusal(proxy(`${a.origin}/elsewhere-by-name`))).code).toBe('forbidden');
    expect(await refusal(proxy(`${a.origin}/loop`))).toEqual({
      code: 'upstream_error',
      message: 'media host redirected more than 5 times',
    });
  });

  it('refuses private and loopback addresses: literal, or after resolving the name (and connects to the address it checked)', async () => {
    const before = b.seen.length;
    const port = new URL(b.origin).port;
    // b is allowed by origin but not exempt: its loopback address is refused, whichever way it is named.
    for (const url of [`${b.origin}/x.png`, `http://localhost:${port}/x.png`, `http://[::ffff:127.0.0.1]:${port}/x.png`]) {
      const origin = new URL(url).origin;
      expect(await refusal(proxy(url, sourceOf({ origins: [a.origin, origin] }))), url).toMatchObject({ code: 'forbidden' });
    }
    expect(b.seen.length).toBe(before);
    // A name that resolves to a public and a private address is refused as a whole (no pick of the private one later).
    const rebinding = createNodeMediaHop({
      resolve: (_name, _options, callback) =>
        callback(null, [
          { address: '93.184.216.34', family: 4 },
          { address: '10.0.0.7', family: 4 },
        ]),
    });
    const source = sourceOf({ origins: ['http://media.test'] });
    const refused = await refusal(proxyMedia(source, 'http://media.test/x.png', request(), { hop: rebinding, maxBytes: 1000 }));
    expect(refused).toEqual({ code: 'forbidden', message: 'media host resolves to a private or reserved address; not fetched' });
  });

  it('caps the size: refused up front when announced, cut off (the transfer fails) when found out while streaming', async () => {
    const cap = PNG.byteLength - 1;
    expect(await refusal(proxy(`${a.origin}/big`, sourceOf(), {}, cap))).toEqual({
      code: 'upstream_error',
      message: `media is ${PNG.byteLength} bytes, more than MEDIA_MAX_BYTES (${cap})`,
    });
    const exact = await proxy(`${a.origin}/big`, sourceOf(), {}, PNG.byteLength);
    expect((await exact.arrayBuffer()).byteLength).toBe(PNG.byteLength);
    const chunked = await proxy(`${a.origin}/big-chunked`, sourceOf(), {}, PNG.byteLength + 10);
    expect(chunked.headers.get('content-length')).toBeNull();
    await expect(chunked.arrayBuffer()).rejects.toThrow('media exceeds MEDIA_MAX_BYTES');
  });

  it('sends the vendor credential only to the hosts that want it, and never shows it to the client', async () => {
    const source = sourceOf({ media: media([], [a.origin]), credentialHeaders: { Authorization: `Bearer ${SECRET}` } });
    const fromA = await proxy(`${a.origin}/img.png`, source);
    expect(a.seen.at(-1)?.headers.authorization).toBe(`Bearer ${SECRET}`);
    const text = JSON.stringify([...fromA.headers]) + new TextDecoder('latin1').decode(await fromA.arrayBuffer());
    expect(text).not.toContain(SECRET);
    const fromB = await proxyMedia(source, `${b.origin}/x.png`, request(), {
      hop: createNodeMediaHop({ exemptOrigins: [b.origin] }),
      maxBytes: 1 << 20,
    });
    await fromB.body?.cancel();
    expect(b.seen.at(-1)?.headers.authorization).toBeUndefined();
    // An upstream failure is named by its status alone, never by its body.
    expect(await refusal(proxy(`${a.origin}/fail`, source))).toEqual({ code: 'upstream_error', message: 'media host answered 500' });
  });
});
