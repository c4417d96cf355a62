/**
 * When this instance received each recent event from the upstream, for the delivery lag: the
 * follower marks an event's receipt before appending it, the job's hub reads it when it writes
 * the event to subscribers. Only where both are on one instance (the bus does not carry the time).
 */

/** Receipts kept per job: a ring by seq, enough for the follower's read-ahead. */
const RING = 256;

/** One job's recent receipts, in `performance.now()` milliseconds. */
export class Receipts {
  private readonly seqs = new Float64Array(RING).fill(-1);
  private readonly times = new Float64Array(RING);

  mark(seq: number, at: number): void {
    const i = seq % RING;
    this.seqs[i] = seq;
    this.times[i] = at;
  }

  /** When `seq` was received here, or undefined when not (or no longer) known. */
  at(seq: number): number | undefined {
    const i = seq % RING;
    return this.seqs[i] === seq ? this.times[i] : undefined;
  }
}

/** The receipts of the jobs that have a hub on this instance, by job id: the hub opens its job's, the follower marks into it. */
export interface ReceiptBook {
  /** The job's receipts, kept until `close` (one hub per job). */
  open(jobId: string): Receipts;
  close(jobId: string): void;
  /** The job's receipts while a hub has them open: no hub, nobody to deliver to, nothing to mark. */
  find(jobId: string): Receipts | undefined;
}

export function createReceiptBook(): ReceiptBook {
  const jobs = new Map<string, Receipts>();
  return {
    open(jobId) {
      let receipts = jobs.get(jobId);
      if (!receipts) {
        receipts = new Receipts();
        jobs.set(jobId, receipts);
      }
      return receipts;
    },
    close: (jobId) => void jobs.delete(jobId),
    find: (jobId) => jobs.get(jobId),
  };
}
