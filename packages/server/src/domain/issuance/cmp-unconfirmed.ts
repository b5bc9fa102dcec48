import { randomUUID } from 'node:crypto';
import type { Logger } from '../../logger.js';
import { revokeCertificates } from '../revocation/index.js';
import { takeSchedulerLease } from '../shared/scheduler-lease.js';
import type { ServiceDeps } from '../shared/service-deps.js';

const LEASE_NAME = 'cmp-unconfirmed';
/** How often unconfirmed CMP certificates are looked for, and the lease of one pass. */
export const CMP_UNCONFIRMED_INTERVAL_MS = 30_000;
const LEASE_MS = 60_000;
/** Certificates revoked by one pass at most; the next pass takes the rest. */
const PASS_LIMIT = 500;

/**
 * A certificate CMP issued and the client never confirmed within the window (certConf, RFC 9483
 * §4.1.1, `CMP_CONFIRM_WINDOW_SECONDS`) is revoked (cessationOfOperation): the client never
 * said it received it, so nobody should be able to use it. One server at a time does it (a lease).
 */
export class UnconfirmedCmpCertificates {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;
  private readonly holder = randomUUID();

  constructor(
    private readonly deps: ServiceDeps,
    private readonly logger: Logger,
    private readonly intervalMs = CMP_UNCONFIRMED_INTERVAL_MS,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** One pass (unless one is running): how many certificates it revoked. */
  tick(): Promise<number> {
    this.running ??= this.pass()
      .catch((error: unknown) => {
        this.logger.log('error', 'revoking unconfirmed CMP certificates failed; retrying', { error: error instanceof Error ? error.message : String(error) });
        return 0;
      })
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  private async pass(): Promise<number> {
    const now = this.deps.now();
    if (!(await takeSchedulerLease(this.deps.db, LEASE_NAME, this.holder, LEASE_MS, now))) return 0;
    const due = await this.deps.db
      .selectFrom('cmp_transactions as t')
      .innerJoin('projects as p', 'p.id', 't.project_id')
      .selectAll('p')
      .select(['t.transaction_id', 't.certificate_fingerprint', 't.requester'])
      .where('t.state', '=', 'awaiting-confirmation')
      .where('t.confirm_by', '<=', now.toISOString())
      .limit(PASS_LIMIT)
      .execute();
    let revoked = 0;
    for (const row of due) {
      const { transaction_id: transactionId, certificate_fingerprint: fingerprint, requester, ...project } = row;
      if (fingerprint !== null) {
        await revokeCertificates(this.deps, { actor: `cmp:unconfirmed:${requester}` }, project, { certificates: [{ fingerprintSha256: fingerprint }], reason: 'cessationOfOperation' });
        revoked++;
      }
      await this.deps.db.updateTable('cmp_transactions').set({ state: 'revoked', confirm_by: null }).where('project_id', '=', project.id).where('transaction_id', '=', transactionId).where('state', '=', 'awaiting-confirmation').execute();
    }
    if (revoked > 0) this.logger.log('info', 'revoked CMP certificates never confirmed', { count: revoked });
    return revoked;
  }
}
