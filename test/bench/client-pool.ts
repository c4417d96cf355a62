import type { IpcPeer } from './ipc.ts';

type Reply = Record<string, unknown>;

/** Latency percentiles from `[bin, count, …]` histograms of several clients. */
function percentiles(replies: Reply[]): { p50: number; p99: number } {
  const merged = new Map<number, number>();
  let total = 0;
  let binMs = 0;
  for (const reply of replies) {
    binMs = reply.binMs as number;
    const hist = reply.hist as number[];
    for (let i = 0; i < hist.length; i += 2) {
      merged.set(hist[i] as number, (merged.get(hist[i] as number) ?? 0) + (hist[i + 1] as number));
      total += hist[i + 1] as number;
    }
  }
  const sorted = [...merged].sort((a, b) => a[0] - b[0]);
  const at = (p: number) => {
    const rank = Math.ceil(total * p);
    let seen = 0;
    for (const [bin, count] of sorted) {
      seen += count;
      if (seen >= rank) return (bin + 1) * binMs;
    }
    return 0;
  };
  return total === 0 ? { p50: 0, p99: 0 } : { p50: at(0.5), p99: at(0.99) };
}

const sum = (replies: Reply[], key: string) => replies.reduce((n, r) => n + ((r[key] as number | undefined) ?? 0), 0);

function mergePhase(replies: Reply[]): Reply {
  const firsts = replies.map((r) => r.firstRecv as number).filter((t) => t > 0);
  return {
    cpuS: sum(replies, 'cpuS'),
    delivered: sum(replies, 'delivered'),
    missing: sum(replies, 'missing'),
    dups: sum(replies, 'dups'),
    live: sum(replies, 'live'),
    closedByServer: sum(replies, 'closedByServer'),
    errors: sum(replies, 'errors'),
    firstRecv: firsts.length > 0 ? Math.min(...firsts) : 0,
    lastRecv: Math.max(...replies.map((r) => r.lastRecv as number)),
    max: Math.max(...replies.map((r) => r.max as number)),
    timedOut: replies.some((r) => r.timedOut === true),
    ...percentiles(replies),
  };
}

/** Several client processes seen as one: connections split evenly, figures merged. */
export function clientPool(clients: IpcPeer[]): IpcPeer {
  const all = (message: Reply, timeoutMs?: number) => Promise.all(clients.map((c) => c.call(message, timeoutMs)));
  return {
    async call<T>(message: Reply, timeoutMs?: number): Promise<T> {
      switch (message.cmd) {
        case 'open': {
          const count = message.count as number;
          const replies = await Promise.all(
            clients.map((c, k) => {
              const share = Math.floor(count / clients.length) + (k < count % clients.length ? 1 : 0);
              return share > 0 ? c.call({ ...message, count: share }, timeoutMs) : Promise.resolve({});
            }),
          );
          return { connected: sum(replies, 'connected'), failed: sum(replies, 'failed'), errors: sum(replies, 'errors') } as T;
        }
        case 'drop': {
          // The first `keep` subscribers stay, on the first client.
          const keep = message.keep as number;
          const replies = await Promise.all(clients.map((c, k) => c.call({ ...message, keep: k === 0 ? keep : 0 }, timeoutMs)));
          return { dropped: sum(replies, 'dropped'), live: sum(replies, 'live') } as T;
        }
        case 'reconnect': {
          const replies = await all(message, timeoutMs);
          const ms = Math.max(...replies.map((r) => r.ms as number));
          return { connected: sum(replies, 'connected'), failed: sum(replies, 'failed'), errors: sum(replies, 'errors'), ms } as T;
        }
        case 'wait':
        case 'stats':
          return mergePhase(await all(message, timeoutMs)) as T;
        case 'waitClosed': {
          const replies = await all(message, timeoutMs);
          return { live: sum(replies, 'live'), closedByServer: sum(replies, 'closedByServer') } as T;
        }
        case 'joins':
          return clients[0]!.call<T>(message, timeoutMs);
        default:
          await all(message, timeoutMs);
          return {} as T;
      }
    },
  };
}
