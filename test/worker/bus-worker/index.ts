// Test-only Worker: each job's Durable Object bus, reachable over HTTP so the shared bus
// contracts (test/core/bus/contracts/) can run against it from Node. Not deployed.
import { DurableObject } from 'cloudflare:workers';
import { type DurableBus, createDurableBus } from '../../../src/worker/do-bus.ts';

interface Env {
  BUS: DurableObjectNamespace<BusObject>;
  HISTORY_MAX_EVENTS: string;
  HISTORY_TTL_MS: string;
}

type Call = {
  jobId: string;
  method:
    | 'append'
    | 'appendMany'
    | 'publish'
    | 'history'
    | 'state'
    | 'acquireLease'
    | 'renewLease'
    | 'claimLease'
    | 'releaseLease'
    | 'usage';
  args: unknown[];
};

export class BusObject extends DurableObject<Env> {
  private readonly bus: DurableBus;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.bus = createDurableBus(ctx.storage, {
      historyMaxEvents: Number(env.HISTORY_MAX_EVENTS),
      historyTtlMs: Number(env.HISTORY_TTL_MS),
    });
  }

  async call(method: Call['method'], args: unknown[]): Promise<{ result: unknown }> {
    const fn = this.bus[method] as (...a: unknown[]) => Promise<unknown>;
    return { result: (await fn(...args)) ?? null };
  }

  /** A live subscription as newline-delimited JSON; a failed write (client gone) unsubscribes. */
  override async fetch(request: Request): Promise<Response> {
    const jobId = new URL(request.url).searchParams.get('job') ?? '';
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const writer = writable.getWriter();
    const encoder = new TextEncoder();
    const off = await this.bus.subscribe(jobId, (event) => {
      writer.write(encoder.encode(`${JSON.stringify(event)}\n`)).catch(() => void off());
    });
    return new Response(readable, { headers: { 'Content-Type': 'application/x-ndjson' } });
  }
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === '/healthz') return Response.json({ ok: true });
    if (url.pathname === '/subscribe') {
      const stub = env.BUS.get(env.BUS.idFromName(url.searchParams.get('job') ?? ''));
      return stub.fetch(request);
    }
    const call = (await request.json()) as Call;
    const stub = env.BUS.get(env.BUS.idFromName(call.jobId));
    try {
      return Response.json(await stub.call(call.method, call.args));
    } catch (err) {
      return Response.json({ error: err instanceof Error ? err.message : String(err) }, { status: 500 });
    }
  },
} satisfies ExportedHandler<Env>;
