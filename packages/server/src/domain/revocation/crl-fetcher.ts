import { isServiceError } from '../../service-error.js';
import type { Logger } from '../../logger.js';
import { recordAudit } from '../shared/audit-log.js';
import { bumpGenerations } from '../shared/project-generations.js';
import type { ServiceDeps } from '../shared/service-deps.js';
import { decodeCrlBytes, putCaCrlInForce } from './ca-crls.js';
import { checkCrlUrl } from './crl-url-policy.js';

/** How often each server looks for CRLs due; a URL is fetched at most once per lease across the cluster. */
export const CRL_FETCH_INTERVAL_MS = 15_000;
export const CRL_FETCH_LEASE_MS = 60_000;
/** A CRL is fetched again once this share of its validity has passed (and whenever none is in force). */
const REFRESH_AT_FRACTION = 0.75;
const FETCH_TIMEOUT_MS = 10_000;
/** Bound on a fetched CRL, as on an uploaded one. */
const MAX_FETCHED_CRL_BYTES = 16 * 1024 * 1024;
const MAX_BACKOFF_MS = 3_600_000;

/**
 * Keeps the CRLs of CA certificates that name a `crlUrl` current (DESIGN §8): every server looks
 * for CRLs due — none in force, or past three quarters of their validity — and fetches each URL
 * only under a lease row in the store (so servers sharing it fetch a URL at most once a minute),
 * with exponential backoff after a failure. A fetched CRL goes through the same checks as an
 * uploaded one; one not newer than the CRL in force changes nothing.
 */
export class CrlFetcher {
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    private readonly deps: ServiceDeps,
    private readonly logger: Logger,
    private readonly options: { readonly allowPrivate: boolean; readonly intervalMs?: number | undefined; readonly leaseMs?: number | undefined },
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.options.intervalMs ?? CRL_FETCH_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** One pass: report CRLs that went stale, then fetch every CRL due, each URL under its lease. */
  async tick(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      const now = this.deps.now();
      await reportStaleCrls(this.deps, now);
      const cas = await this.deps.db
        .selectFrom('ca_certificates as c')
        .innerJoin('projects as p', 'p.id', 'c.project_id')
        .leftJoin('ca_crls as l', (join) => join.onRef('l.project_id', '=', 'c.project_id').onRef('l.ca_id', '=', 'c.id'))
        .select(['c.id as caId', 'c.crl_url as url', 'l.this_update as thisUpdate', 'l.next_update as nextUpdate', 'p.id as projectKey'])
        .where('c.crl_url', 'is not', null)
        .execute();
      for (const ca of cas) {
        const due =
          ca.thisUpdate === null ||
          ca.nextUpdate === null ||
          now.getTime() >= Date.parse(ca.thisUpdate) + REFRESH_AT_FRACTION * (Date.parse(ca.nextUpdate) - Date.parse(ca.thisUpdate));
        if (due && ca.url !== null && (await this.lease(ca.url, now))) await this.fetchInto(ca.url, ca.projectKey, ca.caId, now);
      }
    } catch (error) {
      this.logger.log('error', 'CRL fetching failed; retrying', { error: (error as Error).message });
    } finally {
      this.running = false;
    }
  }

  /** Takes the URL's lease when it is free and its backoff has passed; true when this server holds it now. */
  private async lease(url: string, now: Date): Promise<boolean> {
    const at = now.toISOString();
    await this.deps.db.insertInto('crl_fetches').values({ url, leased_until: null, next_attempt_at: at, failures: 0, last_error: null }).onConflict((oc) => oc.column('url').doNothing()).execute();
    const taken = await this.deps.db
      .updateTable('crl_fetches')
      .set({ leased_until: new Date(now.getTime() + (this.options.leaseMs ?? CRL_FETCH_LEASE_MS)).toISOString() })
      .where('url', '=', url)
      .where('next_attempt_at', '<=', at)
      .where((eb) => eb.or([eb('leased_until', 'is', null), eb('leased_until', '<=', at)]))
      .executeTakeFirst();
    return Number(taken.numUpdatedRows) === 1;
  }

  private async fetchInto(url: string, projectKey: string, caId: string, now: Date): Promise<void> {
    try {
      const target = await checkCrlUrl(url, this.options.allowPrivate);
      const response = await fetch(target, { redirect: 'error', signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
      if (response.status !== 200) throw new Error(`HTTP ${response.status}`);
      const declared = Number(response.headers.get('content-length') ?? 0);
      if (declared > MAX_FETCHED_CRL_BYTES) throw new Error(`the CRL is larger than ${MAX_FETCHED_CRL_BYTES} bytes`);
      const bytes = Buffer.from(await response.arrayBuffer());
      if (bytes.length > MAX_FETCHED_CRL_BYTES) throw new Error(`the CRL is larger than ${MAX_FETCHED_CRL_BYTES} bytes`);
      const project = await this.deps.db.selectFrom('projects').selectAll().where('id', '=', projectKey).executeTakeFirstOrThrow();
      try {
        await putCaCrlInForce(this.deps, 'server:crl-fetch', project, caId, decodeCrlBytes(bytes));
      } catch (error) {
        // The same CRL again (or an older one) is no failure: the one in force stands.
        if (!(isServiceError(error) && error.code === 'CRL_NOT_NEWER')) throw error;
      }
      await this.deps.db.updateTable('crl_fetches').set({ failures: 0, last_error: null, next_attempt_at: now.toISOString() }).where('url', '=', url).execute();
    } catch (error) {
      const row = await this.deps.db.selectFrom('crl_fetches').select('failures').where('url', '=', url).executeTakeFirst();
      const failures = (row?.failures ?? 0) + 1;
      const backoff = Math.min(MAX_BACKOFF_MS, (this.options.leaseMs ?? CRL_FETCH_LEASE_MS) * 2 ** (failures - 1));
      const message = isServiceError(error) ? `${error.code}: ${error.message}` : (error as Error).message;
      await this.deps.db.updateTable('crl_fetches').set({ failures, last_error: message.slice(0, 500), next_attempt_at: new Date(now.getTime() + backoff).toISOString() }).where('url', '=', url).execute();
      this.logger.log('info', 'fetching a CRL failed', { url, caId, failures, error: message });
    }
  }
}

/**
 * A CRL past its nextUpdate is reported once across the cluster (the first server to mark it
 * audits `certificate.crl-stale`), and its project's generations move so that, under
 * `staleCrl: "refuse"`, every server re-checks and ends the connections resting on its CA.
 * A newer CRL put in force clears the mark.
 */
export async function reportStaleCrls(deps: ServiceDeps, now: Date): Promise<void> {
  const at = now.toISOString();
  const stale = await deps.db.selectFrom('ca_crls').select(['project_id', 'ca_id', 'crl_number', 'next_update']).where('stale_reported_at', 'is', null).where('next_update', '<', at).execute();
  for (const crl of stale) {
    await deps.db.transaction().execute(async (trx) => {
      const marked = await trx.updateTable('ca_crls').set({ stale_reported_at: at }).where('project_id', '=', crl.project_id).where('ca_id', '=', crl.ca_id).where('stale_reported_at', 'is', null).executeTakeFirst();
      if (Number(marked.numUpdatedRows) !== 1) return; // another server reported it
      await bumpGenerations(trx, crl.project_id, { ca: false, revocations: true });
      await recordAudit(trx, now, {
        actor: 'server:crl-watch',
        action: 'certificate.crl-stale',
        targetType: 'ca-certificate',
        targetId: crl.ca_id,
        projectId: crl.project_id,
        details: { crlNumber: BigInt(crl.crl_number).toString(), nextUpdate: crl.next_update },
      });
    });
  }
}
