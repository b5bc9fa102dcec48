import type { Kysely } from 'kysely';
import { LruMap } from '../../lru-map.js';
import type { Database } from '../../store/schema.js';
import { crlReasonName, type CrlReasonName } from '@fleetpki/pki';
import { projectSettingsOf } from '../management/index.js';
import { crlEntries } from './ca-crls.js';
import type { RevocationReason } from './revocation-reasons.js';
import { caSerialKey, serialNumberText } from './serial-number-text.js';

/** What a revocation says: why (an RFC 5280 reason name), since when, and who said it. */
export interface RevocationFact {
  readonly reason: RevocationReason | CrlReasonName;
  readonly revokedAt: string;
  /** `api`: a revocation made here; `crl`: an entry of the CRL in force for an uploaded CA. */
  readonly source: 'api' | 'crl';
}

/** A certificate of a validated path (anchor excepted), as revocation lookups name it. */
export interface PathMember {
  readonly fingerprintSha256: string;
  /** serialNumberText of the certificate. */
  readonly serialNumber: string;
  /** The project CA certificate that signed it, when the project holds the issuer. */
  readonly issuerCaId: string | null;
}

/** A path resting on a CA whose CRL in force is past its nextUpdate, under `staleCrl: "refuse"`. */
export interface StaleCrlMember {
  readonly certIndex: number;
  readonly caId: string;
  readonly nextUpdate: string | null;
}

/** The first revoked certificate of a path: where it is, and the revocation. */
export interface RevokedMember {
  readonly certIndex: number;
  readonly member: PathMember;
  readonly fact: RevocationFact;
}

/** A leaf superseded by the device's newer certificate, refused once its grace period has passed. */
export interface SupersededLeaf {
  readonly supersededAt: string;
  readonly gracePeriodSeconds: number;
  /** When it stops connecting (supersededAt + the grace period). */
  readonly refusedFrom: string;
}

/**
 * The lifecycle facts a handshake reads beside revocations (issue 17), held in the same
 * generation-keyed set so a supersession, a forced renewal or a settings change reaches every
 * server the same way a revocation does.
 */
export interface LifecycleFacts {
  /** Superseded certificates by fingerprint: when (ms). */
  readonly superseded: ReadonlyMap<string, number>;
  readonly gracePeriodSeconds: number;
  /** Forced renewals (ms), of one device or of every device under a CA certificate. */
  readonly renewalByDevice: ReadonlyMap<string, number>;
  readonly renewalByCa: ReadonlyMap<string, number>;
}

const NO_LIFECYCLE: LifecycleFacts = { superseded: new Map(), gracePeriodSeconds: 0, renewalByDevice: new Map(), renewalByCa: new Map() };

/** Bound on projects whose revocations are held in memory; beyond it the least recently used is read again. */
export const MAX_CACHED_REVOCATION_SETS = 10_000;

/**
 * One project's revocations as two hash maps, so a handshake asks one probe per certificate of
 * its path and never scans: by fingerprint, and by (issuing CA, serial) — the form a factory's
 * manifest or a CRL names a certificate in, seen or not.
 */
export class ProjectRevocations {
  constructor(
    readonly generation: number,
    private readonly byFingerprint: ReadonlyMap<string, RevocationFact>,
    private readonly bySerial: ReadonlyMap<string, RevocationFact>,
    /** Under `staleCrl: "refuse"`, each CA's CRL nextUpdate (ms; null: none); empty under `apply`. */
    private readonly crlNextUpdates: ReadonlyMap<string, number | null> = new Map(),
    private readonly lifecycle: LifecycleFacts = NO_LIFECYCLE,
  ) {}

  /** The leaf's supersession once its grace period is over at `at`; undefined while it may still connect. */
  supersededLeaf(fingerprintSha256: string, at: Date): SupersededLeaf | undefined {
    const since = this.lifecycle.superseded.get(fingerprintSha256);
    if (since === undefined) return undefined;
    const refusedFrom = since + this.lifecycle.gracePeriodSeconds * 1000;
    if (at.getTime() < refusedFrom) return undefined;
    return { supersededAt: new Date(since).toISOString(), gracePeriodSeconds: this.lifecycle.gracePeriodSeconds, refusedFrom: new Date(refusedFrom).toISOString() };
  }

  /** The latest forced renewal (ms) that covers a device or a CA certificate of its path, if any. */
  renewalRequestedAt(deviceId: string, path: readonly PathMember[], anchorCaId: string): number | undefined {
    let latest = this.lifecycle.renewalByDevice.get(deviceId);
    const consider = (caId: string | null) => {
      const at = caId === null ? undefined : this.lifecycle.renewalByCa.get(caId);
      if (at !== undefined && (latest === undefined || at > latest)) latest = at;
    };
    if (this.lifecycle.renewalByCa.size > 0) {
      consider(anchorCaId);
      for (const member of path) consider(member.issuerCaId);
    }
    return latest;
  }

  /** The first certificate of a path whose issuing CA's CRL is past its nextUpdate, when the project refuses those. */
  staleCrl(path: readonly PathMember[], at: Date): StaleCrlMember | undefined {
    if (this.crlNextUpdates.size === 0) return undefined;
    for (const [certIndex, member] of path.entries()) {
      if (member.issuerCaId === null || !this.crlNextUpdates.has(member.issuerCaId)) continue;
      const nextUpdate = this.crlNextUpdates.get(member.issuerCaId) ?? null;
      if (nextUpdate === null || nextUpdate < at.getTime()) return { certIndex, caId: member.issuerCaId, nextUpdate: nextUpdate === null ? null : new Date(nextUpdate).toISOString() };
    }
    return undefined;
  }

  get size(): number {
    return this.byFingerprint.size + this.bySerial.size;
  }

  find(path: readonly PathMember[]): RevokedMember | undefined {
    for (const [certIndex, member] of path.entries()) {
      const fact = this.byFingerprint.get(member.fingerprintSha256) ?? (member.issuerCaId !== null ? this.bySerial.get(caSerialKey(member.issuerCaId, member.serialNumber)) : undefined);
      if (fact) return { certIndex, member, fact };
    }
    return undefined;
  }
}

/**
 * Every server's view of the projects' revocations, read from the store and kept per project
 * while its revocation_generation stands: a revocation bumps it in its own transaction, so the
 * next authentication (or the connection enforcer, within one interval) on any server sharing
 * the store reads the new set. Concurrent readers of a set being loaded share one query.
 */
export class RevocationSets {
  private readonly sets = new LruMap<string, ProjectRevocations>(MAX_CACHED_REVOCATION_SETS);
  private readonly loading = new Map<string, Promise<ProjectRevocations>>();

  constructor(private readonly db: Kysely<Database>) {}

  /** The project's set when it is current in memory (the common case: no await on the hot path). */
  peek(project: { readonly id: string; readonly revocation_generation: number }): ProjectRevocations | undefined {
    const set = this.sets.get(project.id);
    return set && set.generation === Number(project.revocation_generation) ? set : undefined;
  }

  async of(project: { readonly id: string; readonly revocation_generation: number }): Promise<ProjectRevocations> {
    const current = this.peek(project);
    if (current) return current;
    const generation = Number(project.revocation_generation);
    const key = `${project.id}\u0000${generation}`;
    let pending = this.loading.get(key);
    if (!pending) {
      pending = this.load(project.id, generation).finally(() => this.loading.delete(key));
      this.loading.set(key, pending);
    }
    return pending;
  }

  private async load(projectId: string, generation: number): Promise<ProjectRevocations> {
    const [rows, crls, project, superseded, renewals] = await Promise.all([
      this.db.selectFrom('revocations').select(['fingerprint_sha256', 'ca_id', 'serial_number', 'reason', 'revoked_at']).where('project_id', '=', projectId).execute(),
      this.db.selectFrom('ca_crls').select(['ca_id', 'der', 'next_update']).where('project_id', '=', projectId).execute(),
      this.db.selectFrom('projects').select('settings').where('id', '=', projectId).executeTakeFirst(),
      // Superseded and still within their validity: an expired one is refused as expired anyway.
      this.db
        .selectFrom('device_certificates')
        .select(['fingerprint_sha256', 'superseded_at'])
        .where('project_id', '=', projectId)
        .where('status', '=', 'superseded')
        .where('not_after', '>', new Date().toISOString())
        .execute(),
      this.db.selectFrom('renewal_requests').select(['device_id', 'ca_id', 'requested_at']).where('project_id', '=', projectId).execute(),
    ]);
    const settings = project === undefined ? undefined : projectSettingsOf(project);
    const refuseStale = settings?.staleCrl === 'refuse';
    const latestOf = (map: Map<string, number>, key: string, at: number) => map.set(key, Math.max(map.get(key) ?? at, at));
    const renewalByDevice = new Map<string, number>();
    const renewalByCa = new Map<string, number>();
    for (const renewal of renewals) {
      const at = Date.parse(renewal.requested_at);
      if (renewal.device_id !== null) latestOf(renewalByDevice, renewal.device_id, at);
      if (renewal.ca_id !== null) latestOf(renewalByCa, renewal.ca_id, at);
    }
    const lifecycle: LifecycleFacts = {
      superseded: new Map(superseded.map((row) => [row.fingerprint_sha256, Date.parse(row.superseded_at ?? '')] as const).filter(([, at]) => !Number.isNaN(at))),
      gracePeriodSeconds: settings?.rotationGracePeriodSeconds ?? 0,
      renewalByDevice,
      renewalByCa,
    };
    const crlNextUpdates = new Map<string, number | null>(refuseStale ? crls.map((c) => [c.ca_id, c.next_update === null ? null : Date.parse(c.next_update)]) : []);
    const byFingerprint = new Map<string, RevocationFact>();
    const bySerial = new Map<string, RevocationFact>();
    // A CRL's entries first: a revocation made here (its own reason and date) overrides one listed.
    for (const crl of crls) {
      for (const entry of crlEntries(crl.der)) {
        const reason = (entry.reason === undefined ? undefined : crlReasonName(entry.reason)) ?? 'unspecified';
        bySerial.set(caSerialKey(crl.ca_id, serialNumberText(entry.serialNumber)), { reason, revokedAt: entry.revocationDate.toISOString(), source: 'crl' });
      }
    }
    for (const row of rows) {
      const fact: RevocationFact = { reason: row.reason as RevocationReason, revokedAt: row.revoked_at, source: 'api' };
      if (row.fingerprint_sha256 !== null) byFingerprint.set(row.fingerprint_sha256, fact);
      if (row.ca_id !== null && row.serial_number !== null) bySerial.set(caSerialKey(row.ca_id, row.serial_number), fact);
    }
    const set = new ProjectRevocations(generation, byFingerprint, bySerial, crlNextUpdates, lifecycle);
    // A set read under an older generation than one already held is not kept over it.
    const held = this.sets.peek(projectId);
    if (!held || held.generation <= generation) this.sets.set(projectId, set);
    return set;
  }
}
