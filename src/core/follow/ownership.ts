import { errorMessage } from '../errors.ts';
import type { Leases } from '../bus/bus.ts';
import type { Logger } from '../logger.ts';
import type { Follow } from './follow.ts';

/** What holding a job's follow lease takes: the leases, who we are, and for how long a lease lasts. */
export interface LeaseHolder {
  bus: Leases;
  owner: string;
  leaseMs: number;
  logger: Logger;
}

/**
 * One renewal of a follow's lease. A lapsed lease nobody took is taken back; a lease taken by
 * another instance is claimed back while this one reads the upstream stream (one stream per
 * job: its holder keeps the job), and while polling this follow steps back (stops, 'lost').
 */
export async function renewLease(follow: Follow, holder: LeaseHolder): Promise<void> {
  const { bus, owner, leaseMs, logger } = holder;
  const { jobId } = follow;
  try {
    const held = (await bus.renewLease(jobId, owner, leaseMs)) || (await bus.acquireLease(jobId, owner, leaseMs));
    if (held || follow.disposed) return;
    if (follow.phase === 'stream') {
      await bus.claimLease(jobId, owner, leaseMs);
      logger.warn({ jobId }, 'lease was taken while this instance reads the upstream stream; claimed it back');
      return;
    }
    logger.warn({ jobId }, 'another instance took over the job; stopped polling it');
    follow.stop('lost');
  } catch (err) {
    logger.warn({ jobId, err: errorMessage(err) }, 'lease renewal failed');
  }
}
