/** One measured run of one case on one server. */
export interface Row {
  case: string;
  server: 'sse-relay' | 'nchan' | 'node-http';
  subscribers: number;
  events: number;
  deliveriesPerS: number;
  /** Latency of the paced phase, upstream send → subscriber receive, ms. */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** p99 latency during the burst (queueing included), ms. */
  burstP99Ms: number;
  cpuS: number;
  /** Server CPU time per delivered event, µs (less sensitive to other load on the machine). */
  cpuUsPerDelivery: number;
  rssMB: number;
  rssPerIdleKB: number;
  lost: number;
  upstreamConns: number | null;
  failedConnects: number;
  /** CPU time of the bench client over the burst and paced phases (it shares the machine). */
  clientCpuS?: number;
  note?: string;
}

const fmt = (value: number, digits = 0) =>
  Number.isFinite(value) ? value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '–';

/** The results as a markdown table, then ours ÷ nchan ratios for every case both ran. */
export function markdown(rows: Row[]): string {
  const lines = [
    '| case | server | subscribers | events | deliveries/s | p50 ms | p99 ms | max ms | burst p99 ms | CPU s | CPU µs / delivery | RSS MB | KB / idle sub | lost | upstream conns |',
    '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const r of rows) {
    if (r.note && r.subscribers === 0) {
      lines.push(`| ${r.case} | ${r.server} | – | – | ${r.note} | | | | | | | | | | |`);
      continue;
    }
    lines.push(
      `| ${r.case} | ${r.server} | ${fmt(r.subscribers)} | ${fmt(r.events)} | ${fmt(r.deliveriesPerS)} | ${fmt(r.p50Ms, 1)} | ${fmt(r.p99Ms, 1)} | ${fmt(r.maxMs, 1)} | ${fmt(r.burstP99Ms, 0)} | ${fmt(r.cpuS, 2)} | ${fmt(r.cpuUsPerDelivery, 2)} | ${fmt(r.rssMB, 0)} | ${fmt(r.rssPerIdleKB, 1)} | ${r.lost} | ${r.upstreamConns ?? '–'} |`,
    );
  }
  const pairs = rows
    .filter((r) => r.server === 'sse-relay' && r.subscribers > 0)
    .flatMap((ours) => {
      const peer = rows.find((r) => r.server === 'nchan' && r.case === ours.case && r.subscribers > 0);
      return peer ? [[ours, peer] as const] : [];
    });
  if (pairs.length > 0) {
    lines.push(
      '',
      '| case | deliveries/s ÷ nchan | p99 ÷ nchan | burst p99 ÷ nchan | CPU / delivery ÷ nchan | KB/idle sub ÷ nchan |',
      '|---|--:|--:|--:|--:|--:|',
    );
    for (const [ours, peer] of pairs) {
      const ratio = (a: number, b: number) => (b > 0 ? fmt(a / b, 2) : '–');
      lines.push(
        `| ${ours.case} | ${ratio(ours.deliveriesPerS, peer.deliveriesPerS)} | ${ratio(ours.p99Ms, peer.p99Ms)} | ${ratio(ours.burstP99Ms, peer.burstP99Ms)} | ${ratio(ours.cpuUsPerDelivery, peer.cpuUsPerDelivery)} | ${ratio(ours.rssPerIdleKB, peer.rssPerIdleKB)} |`,
      );
    }
  }
  return lines.join('\n');
}
