import type { Cluster } from 'ioredis';

/** Slots of a Redis Cluster. */
export const SLOTS = 16384;

/** The Redis Cluster slot of a key or channel: CRC16 (XMODEM) of its hash tag, or of all of it without one. */
export function keySlot(key: string): number {
  const bytes = new TextEncoder().encode(key);
  let start = 0;
  let end = bytes.length;
  const open = bytes.indexOf(0x7b);
  const close = open < 0 ? -1 : bytes.indexOf(0x7d, open + 1);
  if (close > open + 1) {
    start = open + 1;
    end = close;
  }
  let crc = 0;
  for (let i = start; i < end; i++) {
    crc ^= (bytes[i] as number) << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % SLOTS;
}

/** The masters serving slots (`host:port`), as the connection's slot map has them. */
export function mastersOf(cluster: Cluster): string[] {
  const masters = new Set<string>();
  for (let slot = 0; slot < SLOTS; slot++) {
    const owner = cluster.slots[slot]?.[0];
    if (owner) masters.add(owner);
  }
  return [...masters];
}

/** The masters serving slots, once the connection has its first slot map (it is asked for one if not). */
export async function currentMasters(cluster: Cluster): Promise<string[]> {
  if (mastersOf(cluster).length === 0) await cluster.ping();
  const masters = mastersOf(cluster);
  if (masters.length === 0) throw new Error('no cluster slot map yet');
  return masters;
}

/** The first name `<head>{<tag>-<i>}` (i = 0, 1, …) whose slot `master` serves: every instance with the same slot map finds the same. */
export function nameOnShard(cluster: Cluster, master: string, head: string, tag: string): string {
  for (let i = 0; ; i++) {
    const name = `${head}{${tag}-${i}}`;
    if (cluster.slots[keySlot(name)]?.[0] === master) return name;
  }
}
