/**
 * The client address for limits: the peer address, or with `trustProxy` the last
 * `X-Forwarded-For` entry (the one the trusted proxy appended; earlier ones are client-supplied).
 */
export function clientIpFrom(forwardedFor: string | undefined, peer: string | undefined, trustProxy: boolean): string {
  if (trustProxy && forwardedFor) {
    const last = forwardedFor
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '')
      .at(-1);
    if (last) return last.slice(0, 64);
  }
  return peer ?? 'unknown';
}
