import { type LookupAddress, type LookupOptions, lookup as dnsLookup } from 'node:dns';
import { type IncomingMessage, type RequestOptions, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import { RelayError } from '../core/errors.ts';
import { ipLiteral, isPublicAddress } from '../core/media/addresses.ts';
import type { MediaHop } from '../http/media-proxy.ts';

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;
/** node:dns's `lookup` as node:net calls it (tests pass their own resolver). */
export type Resolver = (
  hostname: string,
  options: LookupOptions & { all: true },
  callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

export interface NodeMediaHopOptions {
  /** Origins whose private addresses are allowed (the in-process simulator's, in dev mode). */
  exemptOrigins?: readonly string[];
  /** How host names are resolved (default node:dns `lookup`). */
  resolve?: Resolver;
  /** A hop whose answer's head takes longer is given up (default 30 s). */
  timeoutMs?: number;
}

const refused = () => new RelayError('forbidden', 'media host resolves to a private or reserved address; not fetched');

/**
 * The lookup node:net runs for the connection itself: every address the name resolves to must be
 * public, and the connection goes to those very addresses, so a second, different answer (DNS
 * rebinding) cannot slip in between the check and the connect.
 */
function checkedLookup(resolve: Resolver) {
  return (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    resolve(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      if (addresses.length === 0 || addresses.some((entry) => !isPublicAddress(entry.address))) return callback(refused(), []);
      if (options.all) return callback(null, addresses);
      const [first] = addresses as [LookupAddress];
      callback(null, first.address, first.family);
    });
  };
}

const resolveWithDns: Resolver = (hostname, options, callback) => dnsLookup(hostname, options, callback);

/** One media request on Node (see MediaHop): http or https, no redirect followed, private addresses refused after resolution. */
export function createNodeMediaHop(options: NodeMediaHopOptions = {}): MediaHop {
  const exempt = new Set(options.exemptOrigins ?? []);
  const lookup = checkedLookup(options.resolve ?? resolveWithDns);
  const timeoutMs = options.timeoutMs ?? 30_000;
  return (url, { method, headers, signal }) =>
    new Promise<Response>((resolve, reject) => {
      const trusted = exempt.has(url.origin);
      // A literal address is connected to without a lookup: checked here.
      const literal = ipLiteral(url.hostname);
      if (!trusted && literal && !isPublicAddress(url.hostname)) return reject(refused());
      const init: RequestOptions = {
        method,
        headers,
        signal,
        agent: false,
        timeout: timeoutMs,
        ...(trusted || literal ? {} : { lookup }),
      };
      const request = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, init, (res) => resolve(toResponse(res, method)));
      request.on('timeout', () => request.destroy(new RelayError('upstream_error', 'media host did not answer in time')));
      request.on('error', (err) => {
        if (err instanceof RelayError) reject(err);
        else if (signal.aborted) reject(new RelayError('bad_request', 'the client left'));
        else reject(new RelayError('upstream_error', 'media host unreachable', { cause: err }));
      });
      request.end();
    });
}

/** node:http's answer as a Web Response (its body read as it is streamed on). */
function toResponse(res: IncomingMessage, method: string): Response {
  const headers = new Headers();
  for (const [name, value] of Object.entries(res.headers)) {
    if (value === undefined) continue;
    for (const each of Array.isArray(value) ? value : [value]) headers.append(name, each);
  }
  const status = res.statusCode ?? 502;
  const empty = method === 'HEAD' || status === 204 || status === 304;
  if (empty) res.resume();
  const body = empty ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>);
  return new Response(body, { status: status < 200 || status > 599 ? 502 : status, headers });
}
