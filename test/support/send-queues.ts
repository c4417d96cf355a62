import { execFileSync } from 'node:child_process';

/** The send queues (bytes) of the server's side of every TCP connection on this port, as `ss` reports them. */
export function sendQueues(port: number): number[] {
  const out = execFileSync('ss', ['-tnH', 'state', 'all', `( sport = :${port} )`], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((cols) => cols.length >= 4 && !cols[0]?.startsWith('LISTEN'))
    .map((cols) => Number(cols[2]));
}
