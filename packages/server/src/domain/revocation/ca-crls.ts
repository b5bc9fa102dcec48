import {
  crlEntryReasonOf,
  crlNumberOf,
  decodePem,
  deltaCrlBaseOf,
  isPkiError,
  looksLikePem,
  namesMatch,
  parseCertificate,
  parseCrl,
  verifySignature,
  type Certificate,
  type CertificateRevocationList,
} from '@fleetpki/pki';
import type { ProjectRow } from '../../store/schema.js';
import { ServiceError } from '../../service-error.js';
import { recordAudit } from '../shared/audit-log.js';
import { actorName, type Principal } from '../shared/principal.js';
import { bumpGenerations } from '../shared/project-generations.js';
import type { ServiceDeps } from '../shared/service-deps.js';
import { crlCuts, type CrlCuts } from './crl-cuts.js';
import { serialNumberText } from './serial-number-text.js';

/** The CRL in force for an uploaded CA certificate, as the API shows it. */
export interface CaCrl {
  readonly caId: string;
  readonly crlNumber: string;
  readonly thisUpdate: string;
  readonly nextUpdate: string | null;
  readonly entryCount: number;
  /** Past its nextUpdate (or without one): its entries still apply; a newer CRL is due. */
  readonly stale: boolean;
  readonly uploadedAt: string;
}

/** The answer to an upload: the CRL (now in force, or that would be under a dry run) and whom it newly cuts. */
export interface CaCrlUploadResult extends CaCrl {
  /** True when nothing was stored: the CRL passed every check and this is what putting it in force would do. */
  readonly dryRun: boolean;
  readonly cuts: CrlCuts;
}

/** cRLNumber is at most 20 octets (RFC 5280 §5.2.3), below 10^49: stored zero-padded, text order is number order. */
const CRL_NUMBER_DIGITS = 49;
/** A cRLNumber as the store keeps it (uploaded CRLs and the ones managed CAs publish alike). */
export const storedCrlNumber = (n: bigint): string => n.toString().padStart(CRL_NUMBER_DIGITS, '0');
const shownNumber = (stored: string): string => BigInt(stored).toString();

const STRICT_BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** `crlFile` (base64 of a PEM or DER CRL, as `certFile` is of a certificate) as one parsed CRL. */
function decodeCrlFile(crlFile: string): CertificateRevocationList {
  const compact = crlFile.replace(/\s+/g, '');
  if (compact.length === 0 || compact.length % 4 !== 0 || !STRICT_BASE64.test(compact)) {
    throw new ServiceError('CRL_FILE_INVALID_BASE64', 'crlFile must be standard base64 (RFC 4648 §4) of a PEM or DER CRL');
  }
  return decodeCrlBytes(Buffer.from(compact, 'base64'));
}

/** A CRL file's bytes (PEM or DER, one CRL) parsed; CRL_UNPARSABLE otherwise. */
export function decodeCrlBytes(bytes: Buffer): CertificateRevocationList {
  try {
    let der: Buffer = bytes;
    if (looksLikePem(bytes)) {
      const blocks = decodePem(bytes);
      const crls = blocks.filter((b) => b.label === 'X509 CRL');
      if (crls.length !== 1 || blocks.length !== 1) {
        throw new ServiceError('CRL_UNPARSABLE', `crlFile must hold exactly one CRL; it holds ${blocks.map((b) => b.label).join(', ') || 'nothing'}`);
      }
      der = (crls[0] as { der: Buffer }).der;
    }
    return parseCrl(der);
  } catch (error) {
    if (isPkiError(error)) throw new ServiceError('CRL_UNPARSABLE', `crlFile is not a valid CRL: ${error.message}`, { pkiCode: error.code });
    throw error;
  }
}

function view(row: { ca_id: string; crl_number: string; this_update: string; next_update: string | null; entry_count: number; uploaded_at: string }, now: Date): CaCrl {
  return {
    caId: row.ca_id,
    crlNumber: shownNumber(row.crl_number),
    thisUpdate: row.this_update,
    nextUpdate: row.next_update,
    entryCount: Number(row.entry_count),
    stale: row.next_update === null || Date.parse(row.next_update) < now.getTime(),
    uploadedAt: row.uploaded_at,
  };
}

/** The CA certificate `caId` of the project, parsed, and its siblings that may sign its CRLs under its name. */
async function crlSigners(deps: ServiceDeps, project: ProjectRow, caId: string): Promise<{ ca: Certificate; signers: Certificate[] }> {
  const rows = await deps.db.selectFrom('ca_certificates').select(['id', 'der']).where('project_id', '=', project.id).execute();
  const row = rows.find((r) => r.id === caId);
  if (!row) throw new ServiceError('CA_NOT_FOUND', `no CA certificate ${caId} in project ${project.slug}`, { certificateId: caId });
  const ca = parseCertificate(row.der);
  // RFC 5280 §6.3.3 (f): the CRL may be signed by the CA's key, or by another key of the same
  // name the CA vouches for (a key rollover, a dedicated CRL signer) — each must allow cRLSign.
  const signers = [ca, ...rows.filter((r) => r.id !== caId).map((r) => parseCertificate(r.der))].filter(
    (cert) => namesMatch(cert.subject, ca.subject) && (!cert.keyUsage || cert.keyUsage.includes('cRLSign')),
  );
  return { ca, signers };
}

/**
 * Puts a CRL in force for an uploaded CA certificate (DESIGN §8), after it proves it is that
 * CA's: its issuer is the CA's name, its signature verifies under a key of that name allowed to
 * sign CRLs, it is complete (no delta) and numbered, and newer than the one in force. Its
 * entries are then refused at every gateway of every server sharing the store. Nothing is
 * stored on a refusal, nor under `dryRun`, which answers what the upload would cut so that a
 * console can ask before it does (issue 16, 4).
 */
export async function uploadCaCrl(
  deps: ServiceDeps,
  principal: Principal,
  project: ProjectRow,
  caId: string,
  crlFile: string,
  options: { readonly dryRun: boolean },
): Promise<CaCrlUploadResult> {
  const crl = decodeCrlFile(crlFile);
  const checked = await checkCaCrl(deps, project, caId, crl);
  const inForce = await deps.db.selectFrom('ca_crls').select(['der', 'crl_number']).where('project_id', '=', project.id).where('ca_id', '=', caId).executeTakeFirst();
  if (inForce && inForce.crl_number >= storedCrlNumber(checked.number)) throw crlNotNewer(caId, checked.number, inForce.crl_number);
  const alreadyListed = new Set(inForce ? crlEntries(inForce.der).map((entry) => serialNumberText(entry.serialNumber)) : []);
  const newlyListed = [...new Set(crl.revoked.map((entry) => serialNumberText(entry.serialNumber)))].filter((serial) => !alreadyListed.has(serial));
  const cuts = await crlCuts(deps, project, caId, newlyListed);
  if (options.dryRun) return { ...view(rowOf(project, caId, crl, checked.number, deps.now()), deps.now()), dryRun: true, cuts };
  return { ...(await writeCaCrl(deps, actorName(principal), project, caId, crl, checked)), dryRun: false, cuts };
}

/** The checks and the write of uploadCaCrl, for a CRL however it arrived (uploaded, or fetched from the CA's crlUrl by `actor`). */
export async function putCaCrlInForce(deps: ServiceDeps, actor: string, project: ProjectRow, caId: string, crl: CertificateRevocationList): Promise<CaCrl> {
  return writeCaCrl(deps, actor, project, caId, crl, await checkCaCrl(deps, project, caId, crl));
}

interface CheckedCrl {
  readonly number: bigint;
  readonly signedByCa: boolean;
}

/** Everything but the number's order: the CRL is this CA's, complete, numbered, and signed by a key allowed to. */
async function checkCaCrl(deps: ServiceDeps, project: ProjectRow, caId: string, crl: CertificateRevocationList): Promise<CheckedCrl> {
  const { ca, signers } = await crlSigners(deps, project, caId);
  if (!namesMatch(crl.issuer, ca.subject)) throw new ServiceError('CRL_ISSUER_MISMATCH', 'the CRL’s issuer is not this CA certificate’s subject: it is another CA’s CRL', { caId });
  let number: bigint | undefined;
  let deltaBase: bigint | undefined;
  try {
    number = crlNumberOf(crl);
    deltaBase = deltaCrlBaseOf(crl);
  } catch (error) {
    if (isPkiError(error)) throw new ServiceError('CRL_UNPARSABLE', `crlFile is not a valid CRL: ${error.message}`, { pkiCode: error.code });
    throw error;
  }
  if (deltaBase !== undefined) throw new ServiceError('CRL_DELTA_UNSUPPORTED', 'a delta CRL cannot be put in force here: upload the complete CRL it updates', { caId });
  if (number === undefined) throw new ServiceError('CRL_NUMBER_MISSING', 'the CRL has no cRLNumber (RFC 5280 §5.2.3), so a newer one could not be told from an older one', { caId });
  const signedBy = signers.find((signer) => {
    try {
      return verifySignature(crl.tbsDer, crl.signature, crl.signatureAlgorithm, signer.publicKey);
    } catch {
      return false;
    }
  });
  if (!signedBy) throw new ServiceError('CRL_SIGNATURE_INVALID', 'the CRL’s signature does not verify with this CA certificate’s key (nor another key of its name allowed to sign CRLs)', { caId });
  return { number, signedByCa: signedBy === ca };
}

function crlNotNewer(caId: string, number: bigint, inForce: string): ServiceError {
  return new ServiceError('CRL_NOT_NEWER', `the CRL in force has number ${shownNumber(inForce)}; this one has ${number}: only a newer CRL replaces it`, {
    caId,
    crlNumber: number.toString(),
    inForce: shownNumber(inForce),
  });
}

function rowOf(project: ProjectRow, caId: string, crl: CertificateRevocationList, number: bigint, now: Date) {
  return {
    project_id: project.id,
    ca_id: caId,
    der: crl.der,
    crl_number: storedCrlNumber(number),
    this_update: crl.thisUpdate.toISOString(),
    next_update: crl.nextUpdate?.toISOString() ?? null,
    entry_count: crl.revoked.length,
    uploaded_at: now.toISOString(),
    stale_reported_at: null,
  };
}

async function writeCaCrl(deps: ServiceDeps, actor: string, project: ProjectRow, caId: string, crl: CertificateRevocationList, checked: CheckedCrl): Promise<CaCrl> {
  const { number } = checked;
  const now = deps.now();
  const row = rowOf(project, caId, crl, number, now);
  return deps.db.transaction().execute(async (trx) => {
    const current = await trx.selectFrom('ca_crls').select('crl_number').where('project_id', '=', project.id).where('ca_id', '=', caId).executeTakeFirst();
    if (current && current.crl_number >= row.crl_number) throw crlNotNewer(caId, number, current.crl_number);
    // The guard again in the write, for an upload racing this one through another server.
    const written = await trx
      .insertInto('ca_crls')
      .values(row)
      .onConflict((oc) =>
        oc
          .columns(['project_id', 'ca_id'])
          .doUpdateSet({ der: row.der, crl_number: row.crl_number, this_update: row.this_update, next_update: row.next_update, entry_count: row.entry_count, uploaded_at: row.uploaded_at, stale_reported_at: null })
          .where('ca_crls.crl_number', '<', row.crl_number),
      )
      .executeTakeFirst();
    if (Number(written.numInsertedOrUpdatedRows ?? 0n) !== 1) throw crlNotNewer(caId, number, current?.crl_number ?? row.crl_number);
    await recordAudit(trx, now, {
      actor,
      action: 'certificate.crl-upload',
      targetType: 'ca-certificate',
      targetId: caId,
      projectId: project.id,
      details: { crlNumber: number.toString(), entries: crl.revoked.length, thisUpdate: row.this_update, nextUpdate: row.next_update, signedByCa: checked.signedByCa },
    });
    await bumpGenerations(trx, project.id, { ca: false, revocations: true });
    return view(row, now);
  });
}

export async function getCaCrl(deps: ServiceDeps, project: ProjectRow, caId: string): Promise<{ readonly crl: CaCrl; readonly der: Buffer }> {
  const row = await deps.db.selectFrom('ca_crls').selectAll().where('project_id', '=', project.id).where('ca_id', '=', caId).executeTakeFirst();
  if (!row) {
    const ca = await deps.db.selectFrom('ca_certificates').select('id').where('project_id', '=', project.id).where('id', '=', caId).executeTakeFirst();
    if (!ca) throw new ServiceError('CA_NOT_FOUND', `no CA certificate ${caId} in project ${project.slug}`, { certificateId: caId });
    throw new ServiceError('CRL_NOT_FOUND', `no CRL is in force for CA certificate ${caId}`, { caId });
  }
  return { crl: view(row, deps.now()), der: row.der };
}

/** The CRLs in force for some of a project's CA certificates (a listed page), by CA certificate ID. */
export async function crlsInForce(deps: ServiceDeps, project: ProjectRow, caIds: readonly string[]): Promise<Map<string, CaCrl>> {
  if (caIds.length === 0) return new Map();
  const rows = await deps.db
    .selectFrom('ca_crls')
    .select(['ca_id', 'crl_number', 'this_update', 'next_update', 'entry_count', 'uploaded_at'])
    .where('project_id', '=', project.id)
    .where('ca_id', 'in', [...caIds])
    .execute();
  const now = deps.now();
  return new Map(rows.map((row) => [row.ca_id, view(row, now)]));
}

/** The entries of a stored CRL, for the revocation set: serial → reason value and date. */
export function crlEntries(der: Buffer): { readonly serialNumber: Buffer; readonly revocationDate: Date; readonly reason: number | undefined }[] {
  return parseCrl(der).revoked.map((entry) => {
    let reason: number | undefined;
    try {
      reason = crlEntryReasonOf(entry);
    } catch {
      reason = undefined; // an unreadable reason is no reason; the listing stands
    }
    return { serialNumber: entry.serialNumber, revocationDate: entry.revocationDate, reason };
  });
}
