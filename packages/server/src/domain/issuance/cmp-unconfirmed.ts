import type { Logger } from '../../logger.js';
import { revokeCertificates } from '../revocation/index.js';
import { LeasedSchedule } from '../shared/leased-schedule.js';
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
  private readonly schedule: LeasedSchedule<number>;

  constructor(
    private readonly deps: ServiceDeps,
    private readonly logger: Logger,
    intervalMs = CMP_UNCONFIRMED_INTERVAL_MS,
  ) {
    this.schedule = new LeasedSchedule(deps, logger, {
      lease: LEASE_NAME,
      intervalMs,
      leaseMs: LEASE_MS,
      idle: 0,
      failure: 'revoking unconfirmed CMP certificates failed; retrying',
      run: (now) => this.pass(now),
    });
  }

  start(): void {
    this.schedule.start();
  }

  stop(): void {
    this.schedule.stop();
  }

  /** One pass (unless one is running): how many certificates it revoked. */
  tick(): Promise<number> {
    return this.schedule.tick();
  }

  private async pass(now: Date): Promise<number> {
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
