import type { MiddlewareHandler } from 'hono';
import { RelayError } from '../core/errors.ts';

/**
 * With no API keys, any web page a developer visits could drive the gateway with the server's
 * token: a cross-site `text/plain` POST needs no preflight, and DNS rebinding turns a hostile
 * name into 127.0.0.1. In open mode this guard refuses what a browser sends for those.
 */
export interface OpenModeGuardOptions {
  /** Origins allowed to call cross-origin (CORS_ORIGINS). */
  allowedOrigins: readonly string[];
  /** The address the server is bound to, when the runtime has one; loopback → the Host must be a loopback name. */
  bindHost?: string | undefined;
}

/** Whether a bind address only accepts local connections. */
export function isLoopbackAddress(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^(::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** Whether a Host header names this machine's loopback (`localhost`, `*.localhost`, `127.x.x.x`, `[::1]`), port ignored. */
export function isLoopbackHostHeader(header: string): boolean {
  const value = header.trim().toLowerCase();
  const hostname = value.startsWith('[') ? value.slice(0, value.indexOf(']') + 1) : value.replace(/:\d*$/, '');
  return (
    hostname === 'localhost' || hostname.endsWith('.localhost') || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname)
  );
}

function forbidden(message: string): RelayError {
  return new RelayError('forbidden', `${message} (the gateway is open: GATEWAY_OPEN=true)`);
}

/**
 * A cancel that carries no body at all (OpenAI's SDK sends `POST …/responses/<id>/cancel` with
 * neither body nor Content-Type): let through the Content-Type rule. The Origin and Sec-Fetch-Site
 * checks still apply, and a cancel names the job's unguessable id.
 */
function bodylessCancel(path: string, type: string | undefined, length: string | undefined): boolean {
  return path.endsWith('/cancel') && type === undefined && (length === undefined || length.trim() === '0');
}

/** What the open-mode checks read of a request (Hono's, or a head the Node edge parsed itself). */
export interface GuardedRequest {
  method: string;
  path: string;
  /** The origin the request was addressed to (`http://<Host>`). */
  origin(): string;
  header(name: string): string | undefined;
}

/** The open-mode checks as a function: the refusal a request gets, or undefined when it may pass. */
export function openModeCheck(options: OpenModeGuardOptions): (req: GuardedRequest) => RelayError | undefined {
  const allowed = new Set(options.allowedOrigins);
  const checkHost = options.bindHost !== undefined && isLoopbackAddress(options.bindHost);
  return (req) => {
    const host = req.header('Host');
    if (checkHost && host !== undefined && !isLoopbackHostHeader(host)) {
      return forbidden('Host must be a loopback name (localhost, 127.0.0.1, [::1]) when bound to loopback');
    }
    const origin = req.header('Origin');
    const allowedOrigin = origin !== undefined && allowed.has(origin);
    const site = req.header('Sec-Fetch-Site');
    if (!allowedOrigin && (site === 'cross-site' || site === 'same-site')) return forbidden('cross-site request refused');
    if (origin !== undefined && !allowedOrigin && origin !== req.origin()) {
      return forbidden('request from another origin refused (list it in CORS_ORIGINS)');
    }
    // A form or a "simple" fetch cannot send application/json without a CORS preflight.
    if (req.method === 'POST' && !bodylessCancel(req.path, req.header('Content-Type'), req.header('Content-Length'))) {
      const type = (req.header('Content-Type') ?? '').split(';')[0]?.trim().toLowerCase();
      // Neither JSON nor NDJSON (the publish API's stream) can be sent cross-site without a preflight.
      if (type !== 'application/json' && type !== 'application/x-ndjson') {
        return new RelayError('bad_request', 'Content-Type must be application/json (the gateway is open: GATEWAY_OPEN=true)', {
          status: 415,
        });
      }
    }
    return undefined;
  };
}

/** The open-mode checks (openModeCheck) as middleware: a refusal is thrown for the app's error handler. */
export function openModeGuard(check: ReturnType<typeof openModeCheck>): MiddlewareHandler {
  return async (c, next) => {
    const refusal = check({
      method: c.req.method,
      path: c.req.path,
      origin: () => new URL(c.req.url).origin,
      header: (name) => c.req.header(name),
    });
    if (refusal) throw refusal;
    await next();
  };
}
