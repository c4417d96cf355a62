import { execFileSync } from 'node:child_process';

/**
 * The send queues (bytes) of the server's side of every TCP connection on `port`, as `ss` reports
 * them; with `peerPort`, of the connection to that client port only (a listening port can be
 * reused by a later test while an earlier one's connections linger in TIME-WAIT).
 */
export function sendQueues(port: number, peerPort?: number): number[] {
  return connections(port, peerPort).map((cols) => Number(cols[2]));
}

/** The TCP states (`ESTAB`, `CLOSE-WAIT`, …) of the same connections. */
export function tcpStates(port: number, peerPort?: number): string[] {
  return connections(port, peerPort).map((cols) => cols[0] as string);
}

/** The timer `ss -o` shows for each (`timer:(keepalive,44sec,0)`, `timer:(on,…)`), or '' when none runs. */
export function tcpTimers(port: number, peerPort?: number): string[] {
  return connections(port, peerPort, ['-o']).map((cols) => cols.find((col) => col.startsWith('timer:')) ?? '');
}

function connections(port: number, peerPort: number | undefined, options: string[] = []): string[][] {
  const filter = peerPort === undefined ? `( sport = :${port} )` : `( sport = :${port} and dport = :${peerPort} )`;
  const out = execFileSync('ss', ['-tnH', ...options, 'state', 'all', filter], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((cols) => cols.length >= 4 && !cols[0]?.startsWith('LISTEN'));
}
