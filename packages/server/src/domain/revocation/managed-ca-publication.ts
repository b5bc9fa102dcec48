import { createHash } from 'node:crypto';
import { buildCrl, buildOcspResponse, CRL_REASON_NAMES, isPkiError, OCSP_OIDS, ocspErrorResponse, parseCertificate, parseOcspRequest, serialHex, type CrlEntryInput, type IssuingAuthority, type OcspCertStatus } from '@fleetpki/pki';
import type { IssuingCaCache } from '../authorities/index.js';
import { projectSettingsOf } from '../management/index.js';
import { LruMap } from '../../lru-map.js';
import type { ManagedCasTable } from '../../store/schema.js';
import { ServiceError } from '../../service-error.js';
import type { ServiceDeps } from '../shared/service-deps.js';
import { storedCrlNumber } from './ca-crls.js';
import { CRL_REASON_OF, type RevocationReason } from './revocation-reasons.js';
import { parseSerialNumberText, serialNumberText } from './serial-number-text.js';

/** How long an OCSP answer is valid: a revocation is answered at once anyway (answers are not cached past one). */
export const OCSP_VALIDITY_SECONDS = 3600;
/** Bound on cached signed OCSP answers. */
const MAX_CACHED_OCSP_ANSWERS = 100_000;
/**
 * How long a project's revocation_generation, and the list of active CAs, are taken as read: a
 * cached answer is served without a query within it, so a revocation through any server sharing
 * the store reaches the answers within this (well inside the second DESIGN §8 allows).
 */
const FRESHNESS_MS = 250;

const REASON_VALUE = (reason: string): number | undefined => {
  const name = (CRL_REASON_OF as Readonly<Record<string, string>>)[reason] ?? reason;
  const value = CRL_REASON_NAMES.indexOf(name as never);
  return value >= 0 ? value : undefined;
};

/** A managed CA's revoked certificates: by serial under its CA certificate, and by the fingerprint of what it issued. */
async function revokedEntries(deps: ServiceDeps, ca: ManagedCasTable): Promise<CrlEntryInput[]> {
  const [bySerial, byFingerprint] = await Promise.all([
    ca.ca_certificate_id
      ? deps.db.selectFrom('revocations').select(['serial_number', 'reason', 'revoked_at']).where('project_id', '=', ca.project_id).where('ca_id', '=', ca.ca_certificate_id).execute()
      : Promise.resolve([]),
    deps.db
      .selectFrom('revocations as r')
      .innerJoin('issued_certificates as i', (join) => join.onRef('i.project_id', '=', 'r.project_id').onRef('i.fingerprint_sha256', '=', 'r.fingerprint_sha256'))
      .select(['i.serial as serial_number', 'r.reason', 'r.revoked_at'])
      .where('r.project_id', '=', ca.project_id)
      .where('i.managed_ca_id', '=', ca.id)
      .execute(),
  ]);
  const entries = new Map<string, CrlEntryInput>();
  for (const row of [...bySerial, ...byFingerprint]) {
    const serial = row.serial_number === null ? undefined : parseSerialNumberText(row.serial_number);
    if (!serial || entries.has(serial)) continue;
    entries.set(serial, { serialNumber: Buffer.from(serial.length % 2 ? `0${serial}` : serial, 'hex'), revocationDate: new Date(row.revoked_at), reason: REASON_VALUE(row.reason) });
  }
  return [...entries.values()];
}

function authorityOf(signer: { readonly authority: IssuingAuthority | undefined }, caId: string): IssuingAuthority {
  if (!signer.authority) throw new ServiceError('SIGNER_UNAVAILABLE', `managed CA ${caId} signs through a remote signer, which publishes no CRL or OCSP here`);
  return signer.authority;
}

/**
 * What managed CAs publish about revocation (DESIGN §8): a CRL per CA, re-signed when the
 * project's revocations changed since it was signed or half its validity has passed (numbered
 * in the store, so servers sharing it never publish one number twice), and OCSP answers (RFC
 * 6960; RFC 5019's GET and POST) signed by the CA, `good`, `revoked` with time and reason, or
 * `unknown`. Answers without a nonce are kept until a revocation or half their validity.
 */
export class ManagedCaPublication {
  /** Signed answers by the request's bytes, with the project and revocation_generation they were signed under. */
  private readonly answers = new LruMap<string, { readonly der: Buffer; readonly projectId: string; readonly generation: number; readonly until: number }>(MAX_CACHED_OCSP_ANSWERS);
  /** Projects' revocation_generation as last read, and when. */
  private readonly generations = new LruMap<string, { readonly value: number; readonly readAt: number }>(MAX_CACHED_OCSP_ANSWERS);
  private activeCas: { readonly rows: ManagedCasTable[]; readonly readAt: number } | undefined;
  /** Each CA certificate's subject DER and public key bits, parsed once (keyed by its DER's hash). */
  private readonly identities = new LruMap<string, { readonly subjectDer: Buffer; readonly keyBytes: Buffer }>(1_000);

  constructor(private readonly deps: ServiceDeps & { readonly issuingCas: IssuingCaCache }) {}

  async crl(caId: string): Promise<Buffer> {
    const found = await this.deps.issuingCas.managedCa(caId);
    if (!found) throw new ServiceError('MANAGED_CA_NOT_FOUND', `no active managed CA ${caId}`, { caId });
    const { row: ca, signer } = found;
    const authority = authorityOf(signer, caId);
    const now = this.deps.now();
    const project = await this.deps.db.selectFrom('projects').select(['revocation_generation', 'settings']).where('id', '=', ca.project_id).executeTakeFirstOrThrow();
    const validityMs = projectSettingsOf(project).crlValiditySeconds * 1000;
    const generation = Number(project.revocation_generation);
    const current = await this.deps.db.selectFrom('managed_ca_crls').selectAll().where('ca_id', '=', caId).executeTakeFirst();
    const halfLife = (Date.parse(current?.next_update ?? '') - Date.parse(current?.this_update ?? '')) / 2;
    if (current && Number(current.revocation_generation) === generation && now.getTime() < Date.parse(current.this_update) + halfLife) return current.der;
    const number = (current ? BigInt(current.crl_number) : 0n) + 1n;
    const der = buildCrl(authority, {
      number,
      thisUpdate: now,
      nextUpdate: new Date(now.getTime() + validityMs),
      entries: await revokedEntries(this.deps, ca),
    });
    const row = {
      ca_id: caId,
      project_id: ca.project_id,
      crl_number: storedCrlNumber(number),
      der,
      this_update: now.toISOString(),
      next_update: new Date(now.getTime() + validityMs).toISOString(),
      revocation_generation: generation,
    };
    // Only a higher number replaces the stored CRL: a server that lost the race serves the winner's.
    const written = await this.deps.db
      .insertInto('managed_ca_crls')
      .values(row)
      .onConflict((oc) => oc.column('ca_id').doUpdateSet({ crl_number: row.crl_number, der: row.der, this_update: row.this_update, next_update: row.next_update, revocation_generation: row.revocation_generation }).where('managed_ca_crls.crl_number', '<', row.crl_number))
      .executeTakeFirst();
    if (Number(written.numInsertedOrUpdatedRows ?? 0n) === 1) return der;
    return (await this.deps.db.selectFrom('managed_ca_crls').select('der').where('ca_id', '=', caId).executeTakeFirstOrThrow()).der;
  }

  /** An OCSP response for a DER OCSPRequest; protocol failures are OCSP error responses, never HTTP errors. */
  async ocsp(requestDer: Buffer): Promise<Buffer> {
    // The hot path: the same request again (RFC 5019 clients send no nonce), answered from memory
    // while the project's revocations have not changed.
    const now = this.deps.now();
    const hit = this.answers.get(requestDer.toString('latin1'));
    if (hit && now.getTime() < hit.until && (await this.generationOf(hit.projectId, now)) === hit.generation) return hit.der;
    let request;
    try {
      request = parseOcspRequest(requestDer);
    } catch (error) {
      if (isPkiError(error)) return ocspErrorResponse('malformedRequest');
      throw error;
    }
    const cas = await this.activeManagedCas(now);
    const matches = request.certIds.map((certId) => {
      const hash = certId.hashAlgorithm === OCSP_OIDS.sha1 ? 'sha1' : certId.hashAlgorithm === OCSP_OIDS.sha256 ? 'sha256' : undefined;
      if (!hash) return undefined;
      return cas.find((ca) => {
        if (!ca.certificate_der) return false;
        const { subjectDer, keyBytes } = this.identityOf(Buffer.from(ca.certificate_der));
        return createHash(hash).update(subjectDer).digest().equals(certId.issuerNameHash) && createHash(hash).update(keyBytes).digest().equals(certId.issuerKeyHash);
      });
    });
    const ca = matches[0];
    // One response has one signer: every certificate asked about must be of one of our CAs, the same.
    if (!ca || matches.some((m) => m?.id !== ca.id)) return ocspErrorResponse('unauthorized');
    const found = await this.deps.issuingCas.managedCa(ca.id);
    if (!found?.signer.authority) return ocspErrorResponse('unauthorized');
    const authority = found.signer.authority;
    const generation = await this.generationOf(ca.project_id, now, true);
    const responses = [];
    for (const certId of request.certIds) responses.push({ certId, certStatus: await this.status(ca, certId.serialNumber), thisUpdate: now, nextUpdate: new Date(now.getTime() + OCSP_VALIDITY_SECONDS * 1000) });
    const der = buildOcspResponse({
      signer: authority.signer,
      responderKeyHash: createHash('sha1').update(authority.certificate.publicKey.keyBytes).digest(),
      producedAt: now,
      responses,
      nonce: request.nonce,
    });
    // A request without a nonce is answered the same until a revocation: kept by its bytes.
    if (request.nonce === undefined) this.answers.set(requestDer.toString('latin1'), { der, projectId: ca.project_id, generation, until: now.getTime() + (OCSP_VALIDITY_SECONDS * 1000) / 2 });
    return der;
  }

  /** The project's revocation_generation, read at most every FRESHNESS_MS (or now, when `fresh`). */
  private async generationOf(projectId: string, now: Date, fresh = false): Promise<number> {
    const known = this.generations.get(projectId);
    if (!fresh && known && now.getTime() - known.readAt < FRESHNESS_MS) return known.value;
    const row = await this.deps.db.selectFrom('projects').select('revocation_generation').where('id', '=', projectId).executeTakeFirst();
    const value = row ? Number(row.revocation_generation) : -1;
    this.generations.set(projectId, { value, readAt: now.getTime() });
    return value;
  }

  private async activeManagedCas(now: Date): Promise<ManagedCasTable[]> {
    if (this.activeCas && now.getTime() - this.activeCas.readAt < FRESHNESS_MS) return this.activeCas.rows;
    const rows = await this.deps.issuingCas.activeManagedCas();
    this.activeCas = { rows, readAt: now.getTime() };
    return rows;
  }

  private identityOf(der: Buffer): { readonly subjectDer: Buffer; readonly keyBytes: Buffer } {
    const key = createHash('sha256').update(der).digest('hex');
    let identity = this.identities.get(key);
    if (!identity) {
      const cert = parseCertificate(der);
      identity = { subjectDer: cert.subject.der, keyBytes: cert.publicKey.keyBytes };
      this.identities.set(key, identity);
    }
    return identity;
  }

  private async status(ca: ManagedCasTable, serialNumber: Buffer): Promise<OcspCertStatus> {
    const serial = serialNumberText(serialNumber);
    // issued_certificates spells serials as `openssl x509 -serial` does (serialHex); one indexed probe.
    const issued = await this.deps.db
      .selectFrom('issued_certificates')
      .select(['fingerprint_sha256'])
      .where('managed_ca_id', '=', ca.id)
      .where('serial', '=', serialHex({ serialNumber }))
      .executeTakeFirst();
    if (!issued) return { status: 'unknown' };
    let query = this.deps.db.selectFrom('revocations').select(['reason', 'revoked_at']).where('project_id', '=', ca.project_id);
    query = query.where((eb) =>
      eb.or([eb('fingerprint_sha256', '=', issued.fingerprint_sha256), ...(ca.ca_certificate_id ? [eb.and([eb('ca_id', '=', ca.ca_certificate_id), eb('serial_number', '=', serial)])] : [])]),
    );
    const revoked = await query.orderBy('revoked_at').executeTakeFirst();
    if (!revoked) return { status: 'good' };
    return { status: 'revoked', revokedAt: new Date(revoked.revoked_at), reason: REASON_VALUE(revoked.reason as RevocationReason) };
  }
}

