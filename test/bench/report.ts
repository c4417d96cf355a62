/** One measured run of one case on one server. */
export interface Row {
  case: string;
  server: 'sse-relay' | 'sse-relay (node:net)' | 'nchan' | 'node-http' | 'node-net' | 'node-native';
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
  /** Connect cost: server CPU from before the first connect until every subscriber has its first event, per subscriber, µs. */
  connectUsPerSub?: number;
  /** Connect cost: server CPU of the whole run (connects and events) per delivered event, µs. */
  wholeRunUsPerDelivery?: number;
  /** Wall time until every subscriber was connected (connect cost) or resumed (storm), ms. */
  allReadyMs?: number;
  /** Fan-out cases: until every subscriber had its stream's head (the clients open at most 1,024 at a time each). */
  connectMs?: number;
  /** Reconnect storm: server CPU per reconnecting subscriber, until all are resumed, µs. */
  reconnectUsPerSub?: number;
  /** Reconnect storm: events a subscriber saw twice, and events it never got, across its reconnect. */
  dups?: number;
  gaps?: number;
  note?: string;
}

const fmt = (value: number, digits = 0) =>
  Number.isFinite(value) ? value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '–';

/** The results as a markdown table, then ours ÷ nchan and ÷ the node:http reference for every case they ran. */
export function markdown(rows: Row[]): string {
  const lines = [
    '| case | server | subscribers | events | deliveries/s | p50 ms | p99 ms | max ms | burst p99 ms | CPU s | CPU µs / delivery | RSS MB | KB / idle sub | lost | upstream conns | all connected ms |',
    '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const r of rows) {
    if (r.note && r.subscribers === 0) {
      lines.push(`| ${r.case} | ${r.server} | – | – | ${r.note} | | | | | | | | | | |`);
      continue;
    }
    lines.push(
      `| ${r.case} | ${r.server} | ${fmt(r.subscribers)} | ${fmt(r.events)} | ${fmt(r.deliveriesPerS)} | ${fmt(r.p50Ms, 1)} | ${fmt(r.p99Ms, 1)} | ${fmt(r.maxMs, 1)} | ${fmt(r.burstP99Ms, 0)} | ${fmt(r.cpuS, 2)} | ${fmt(r.cpuUsPerDelivery, 2)} | ${fmt(r.rssMB, 0)} | ${fmt(r.rssPerIdleKB, 1)} | ${r.lost} | ${r.upstreamConns ?? '–'} | ${r.connectMs === undefined ? '–' : fmt(r.connectMs, 0)} |`,
    );
  }
  const peerOf = (ours: Row, server: Row['server']) => rows.find((r) => r.server === server && r.case === ours.case && r.subscribers > 0);
  const compared = rows.filter((r) => r.server === 'sse-relay' && r.subscribers > 0 && (peerOf(r, 'nchan') || peerOf(r, 'node-http')));
  if (compared.length > 0) {
    lines.push(
      '',
      'Ratios, sse-relay ÷ peer in the same run (below 1 is better, except deliveries/s):',
      '',
      '| case | deliveries/s ÷ nchan | p99 ÷ nchan | burst p99 ÷ nchan | CPU / delivery ÷ nchan | KB/idle sub ÷ nchan | CPU / delivery ÷ node:http | KB/idle sub ÷ node:http |',
      '|---|--:|--:|--:|--:|--:|--:|--:|',
    );
    const ratio = (a: number, b: number | undefined) => (b !== undefined && b > 0 ? fmt(a / b, 2) : '–');
    for (const ours of compared) {
      const nchan = peerOf(ours, 'nchan');
      const ref = peerOf(ours, 'node-http');
      lines.push(
        `| ${ours.case} | ${ratio(ours.deliveriesPerS, nchan?.deliveriesPerS)} | ${ratio(ours.p99Ms, nchan?.p99Ms)} | ${ratio(ours.burstP99Ms, nchan?.burstP99Ms)} | ${ratio(ours.cpuUsPerDelivery, nchan?.cpuUsPerDelivery)} | ${ratio(ours.rssPerIdleKB, nchan?.rssPerIdleKB)} | ${ratio(ours.cpuUsPerDelivery, ref?.cpuUsPerDelivery)} | ${ratio(ours.rssPerIdleKB, ref?.rssPerIdleKB)} |`,
      );
    }
  }
  const churn = rows.filter((r) => r.connectUsPerSub !== undefined || r.reconnectUsPerSub !== undefined);
  if (churn.length > 0) {
    lines.push(
      '',
      'Connecting and reconnecting (server CPU of its whole process tree; ratios to nchan in the same run):',
      '',
      '| case | server | subscribers | CPU µs / new sub | ÷ nchan | whole run CPU µs / delivery | ÷ nchan | all ready ms | CPU µs / reconnect | ÷ nchan | dups | gaps | lost |',
      '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
    );
    const ratio = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined && b > 0 ? fmt(a / b, 2) : '–');
    const opt = (v: number | undefined, digits = 0) => (v === undefined ? '–' : fmt(v, digits));
    for (const r of churn) {
      const nchan = r.server === 'sse-relay' ? rows.find((p) => p.server === 'nchan' && p.case === r.case) : undefined;
      lines.push(
        `| ${r.case} | ${r.server} | ${fmt(r.subscribers)} | ${opt(r.connectUsPerSub)} | ${ratio(r.connectUsPerSub, nchan?.connectUsPerSub)} | ${opt(r.wholeRunUsPerDelivery, 1)} | ${ratio(r.wholeRunUsPerDelivery, nchan?.wholeRunUsPerDelivery)} | ${opt(r.allReadyMs)} | ${opt(r.reconnectUsPerSub)} | ${ratio(r.reconnectUsPerSub, nchan?.reconnectUsPerSub)} | ${opt(r.dups)} | ${opt(r.gaps)} | ${r.lost} |`,
      );
    }
  }
  return lines.join('\n');
}
