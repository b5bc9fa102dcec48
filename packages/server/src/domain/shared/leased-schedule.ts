import { randomUUID } from 'node:crypto';
import type { Logger } from '../../logger.js';
import { takeSchedulerLease } from './scheduler-lease.js';
import type { ServiceDeps } from './service-deps.js';

/** A piece of time-driven work (DESIGN §8): what it is called, how often it runs, and one pass of it. */
export interface LeasedJob<T> {
  /** The lease row's name: servers sharing the store run the job one at a time. */
  readonly lease: string;
  readonly intervalMs: number;
  readonly leaseMs: number;
  /** What a pass that did not hold the lease, or failed, answers. */
  readonly idle: T;
  /** The log line of a failed pass (the next tick retries). */
  readonly failure: string;
  /** One pass, the lease held. */
  run(now: Date): Promise<T>;
}

/**
 * Runs a job every interval under its lease, one pass at a time: a tick while a pass runs gets
 * that pass's outcome; a failure is logged and the next tick retries. Shared by the expiry
 * alerts, the token-key rotation and the unconfirmed-CMP-certificate revocation.
 */
export class LeasedSchedule<T> {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<T> | undefined;
  private readonly holder = randomUUID();

  constructor(
    private readonly deps: ServiceDeps,
    private readonly logger: Logger,
    private readonly job: LeasedJob<T>,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.job.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** One pass, unless one is running (then its outcome). */
  tick(): Promise<T> {
    this.running ??= this.pass()
      .catch((error: unknown) => {
        this.logger.log('error', this.job.failure, { error: error instanceof Error ? error.message : String(error) });
        return this.job.idle;
      })
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  private async pass(): Promise<T> {
    const now = this.deps.now();
    if (!(await takeSchedulerLease(this.deps.db, this.job.lease, this.holder, this.job.leaseMs, now))) return this.job.idle;
    return this.job.run(now);
  }
}
