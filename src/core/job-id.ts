/** Job ids safe in an upstream URL, a bus (Redis) key, an SSE field and a header: no `/`, `%`, spaces, braces or CR/LF. */
const JOB_ID = /^[A-Za-z0-9][A-Za-z0-9:._-]{0,199}$/;

/** True when a job id (from a client or from the upstream) may be used as a key and in URLs. */
export function isValidJobId(value: unknown): value is string {
  return typeof value === 'string' && JOB_ID.test(value);
}
