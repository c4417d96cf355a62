/** The bench's event payload: vendor-shaped JSON of a fixed size, with the send time in it. */

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes on one machine. */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

/** The `"seq":` key every bench event carries, followed by `,"sent_at":<epoch ms>`. */
export const SEQ_KEY = '"seq":';
export const SENT_AT_KEY = ',"sent_at":';

/** One progress event of `size` bytes (padded) for job `jobId`, stamped with the time it is built. */
export function benchEvent(jobId: string, seq: number, size: number, type = 'midjourney_progress'): string {
  const status = type.replace('midjourney_', '');
  const head = `{"event":"${type}","job":{"jobid":"${jobId}","verb":"imagine","jobType":"image","status":"${status}","response":{"progress_percent":${seq % 100}},"pad":"`;
  const tail = `"},"seq":${seq}${SENT_AT_KEY}${epochMs().toFixed(3)}}`;
  const pad = Math.max(0, size - head.length - tail.length);
  return head + 'x'.repeat(pad) + tail;
}

/** The first event of a stream, naming the job (what the gateway's follower waits for). */
export function initializedEvent(jobId: string): string {
  return `{"event":"initialized","message":"Stream initialized","jobId":"${jobId}","seq":0${SENT_AT_KEY}${epochMs().toFixed(3)}}`;
}
