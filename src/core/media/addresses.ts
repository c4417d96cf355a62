/**
 * Which IP addresses the media proxy may connect to: public unicast only, never loopback, private
 * (RFC 1918, ULA), link-local, CGNAT, multicast, documentation or reserved ranges, also when
 * one hides inside an IPv6 form (IPv4-mapped, NAT64, 6to4). Pure parsing: Node and Workers share it.
 */

/** IPv4 ranges that are not public unicast: [first octets as a number, prefix length]. */
const IPV4_BLOCKED: ReadonlyArray<readonly [string, number]> = [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
];

/** An IPv4 address in dotted decimal as a 32-bit number, or null. */
function parseIPv4(text: string): number | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return null;
    value = value * 256 + Number(part);
  }
  return value;
}

const IPV4_RANGES = IPV4_BLOCKED.map(([base, bits]) => [parseIPv4(base) as number, bits] as const);

function ipv4Public(value: number): boolean {
  return !IPV4_RANGES.some(([base, bits]) => Math.floor(value / 2 ** (32 - bits)) === Math.floor(base / 2 ** (32 - bits)));
}

/** An IPv6 address (a trailing dotted quad allowed, no zone) as eight 16-bit groups, or null. */
function parseIPv6(text: string): number[] | null {
  if (!/^[0-9a-f:.]+$/i.test(text)) return null;
  let head = text;
  const tail: number[] = [];
  const dotted = /(?:^|:)(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const v4 = parseIPv4(dotted[1] as string);
    if (v4 === null) return null;
    tail.push(Math.floor(v4 / 65536), v4 % 65536);
    head = text.slice(0, text.length - (dotted[1] as string).length);
    if (head.endsWith(':') && !head.endsWith('::')) head = head.slice(0, -1);
  }
  const halves = head.split('::');
  if (halves.length > 2) return null;
  const groups = (part: string) => (part === '' ? [] : part.split(':'));
  const left = groups(halves[0] as string);
  const right = halves.length === 2 ? groups(halves[1] as string) : [];
  const named = left.length + right.length + tail.length;
  if (halves.length === 1 ? named !== 8 : named > 7) return null;
  const parse = (group: string) => (/^[0-9a-f]{1,4}$/i.test(group) ? Number.parseInt(group, 16) : Number.NaN);
  const zeros = new Array<number>(halves.length === 2 ? 8 - named : 0).fill(0);
  const all = [...left.map(parse), ...zeros, ...right.map(parse), ...tail];
  return all.length === 8 && all.every((group) => Number.isInteger(group)) ? all : null;
}

function ipv6Public(g: number[]): boolean {
  const [a = 0, b = 0] = g;
  const v4 = (hi: number, lo: number) => (g[hi] ?? 0) * 65536 + (g[lo] ?? 0);
  // ::/96 (unspecified, loopback, IPv4-compatible) and ::ffff:0:0/96 (IPv4-mapped): the IPv4 rules.
  if (g.slice(0, 5).every((group) => group === 0)) return g[5] === 0xffff ? ipv4Public(v4(6, 7)) : false;
  if (a === 0x64 && b === 0xff9b) return ipv4Public(v4(6, 7)); // NAT64
  if (a === 0x2002) return ipv4Public(v4(1, 2)); // 6to4
  if (a >= 0xfc00 && a <= 0xfdff) return false; // unique local
  if (a >= 0xfe80 && a <= 0xfeff) return false; // link-local, site-local
  if (a >= 0xff00) return false; // multicast
  if (a === 0x2001 && b === 0x0db8) return false; // documentation
  if (a === 0x0100 && g.slice(1, 4).every((group) => group === 0)) return false; // discard
  return (a & 0xe000) === 0x2000; // global unicast is 2000::/3
}

/** An IP literal (IPv4 dotted, IPv6 with or without brackets), or null for a host name. */
export function ipLiteral(host: string): { family: 4; value: number } | { family: 6; groups: number[] } | null {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  const v4 = parseIPv4(bare);
  if (v4 !== null) return { family: 4, value: v4 };
  const v6 = bare.includes(':') ? parseIPv6(bare) : null;
  return v6 ? { family: 6, groups: v6 } : null;
}

/** Whether `address` (an IP literal) is public unicast; false for anything else, a host name included. */
export function isPublicAddress(address: string): boolean {
  const ip = ipLiteral(address);
  if (!ip) return false;
  return ip.family === 4 ? ipv4Public(ip.value) : ipv6Public(ip.groups);
}
