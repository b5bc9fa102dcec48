import { randomUUID } from 'node:crypto';
import {
  certificateContent,
  createCsrWithSigner,
  createSelfSignedCa,
  encodePem,
  generateKeyPair,
  issueCertificate,
  keySigner,
  parseCertificate,
  parseCsr,
  parseSubjectPublicKeyInfo,
  prepareIssuer,
  privateKeyDer,
  spkiDer,
  encodeName,
  Oid,
  Tag,
  validityForDays,
  type Certificate,
  type CertificateContent,
  type DistinguishedName,
  type Signer,
} from '@fleetpki/pki';
import { ServiceError } from '../../service-error.js';
import type { CaCertificatesTable, ManagedCasTable, ProjectRow } from '../../store/schema.js';
import { isForeignKeyViolation } from '../../store/constraint-violations.js';
import { recordAudit } from '../shared/audit-log.js';
import { checkCaUpload } from './ca-upload-rules.js';
import { decodeCertFile } from './cert-file.js';
import { fetchCfsslCaCertificate } from '../signers/cfssl-signer.js';
import { expectOneRow } from '../shared/concurrent-change.js';
import { DEFAULT_ISSUANCE_PROFILE, profileOf, type IssuanceProfile } from '../issuance/issuance-profile.js';
import { fetchPage, oldestFirst, type Page, type PageRequest } from '../shared/pagination.js';
import type { PkiDeps } from '../issuance/pki-deps.js';
import { bumpGenerations } from '../shared/project-generations.js';
import { projectGone } from '../management/projects.js';
import { actorName, type Principal } from '../shared/principal.js';

/** Lifetimes of what `mode: generate` makes: a root that outlives several issuing CAs. */
export const GENERATED_ROOT_DAYS = 20 * 365;
export const ISSUING_CA_DAYS = 5 * 365;

export type ManagedCaMode = ManagedCasTable['mode'];
export type KeyStorage = 'sealed' | 'pkcs11';

export interface ManagedCaInput {
  readonly mode: ManagedCaMode;
  readonly keyStorage?: KeyStorage | undefined;
  readonly profile?: Partial<IssuanceProfile> | undefined;
  /** mode cfssl: the remote signer's base URL and profile name. */
  readonly cfssl?: { readonly url: string; readonly profile?: string | undefined } | undefined;
}

/** A managed CA as the API shows it (DESIGN §5): never its key. */
export interface ManagedCa {
  readonly id: string;
  readonly status: ManagedCasTable['status'];
  readonly mode: ManagedCaMode;
  readonly keyStorage: ManagedCasTable['key_storage'];
  /** The issuing certificate, PEM; null while a csr-mode CA waits for it. */
  readonly certificate: string | null;
  /** Certificates above it (the generated root), PEM. */
  readonly chain: string | null;
  /** The CSR to sign offline, PEM, while pending. */
  readonly csr: string | null;
  readonly certificateContent: CertificateContent | null;
  /** The project CA certificate (trust anchor) it is registered as. */
  readonly caCertificateId: string | null;
  readonly profile: IssuanceProfile;
  readonly createdAt: string;
  readonly activatedAt: string | null;
}

export function managedCaView(row: ManagedCasTable): ManagedCa {
  const certificate = row.certificate_der ? parseCertificate(Buffer.from(row.certificate_der)) : undefined;
  return {
    id: row.id,
    status: row.status,
    mode: row.mode,
    keyStorage: row.key_storage,
    certificate: certificate ? encodePem('CERTIFICATE', certificate.der) : null,
    chain: row.chain_pem,
    csr: row.status === 'pending' && row.csr_der ? encodePem('CERTIFICATE REQUEST', Buffer.from(row.csr_der)) : null,
    certificateContent: certificate ? certificateContent(certificate) : null,
    caCertificateId: row.ca_certificate_id,
    profile: profileOf(row),
    createdAt: row.created_at,
    activatedAt: row.activated_at,
  };
}

function caSubject(project: ProjectRow, what: string): DistinguishedName {
  return encodeName([
    [{ type: Oid.organizationName, valueTag: Tag.UTF8_STRING, value: project.slug }],
    [{ type: Oid.commonName, valueTag: Tag.UTF8_STRING, value: `fleetpki ${project.slug} ${what}` }],
  ]);
}

/** A new issuing key where the CA asked for it: sealed under the master key, or inside the token. */
function newIssuingKey(deps: PkiDeps, caId: string, storage: KeyStorage): { spki: Buffer; signer: Signer; sealed: Buffer | null; label: string | null } {
  if (storage === 'pkcs11') {
    if (!deps.keyToken) throw new ServiceError('PKCS11_NOT_CONFIGURED', 'this server runs without a PKCS#11 token (start it with --pkcs11-module and --pkcs11-token)');
    const label = `fleetpki-ca-${caId}`;
    const spki = deps.keyToken.generateEcKey(label);
    return { spki, signer: deps.keyToken.signer(label), sealed: null, label };
  }
  // P-256 for the issuing key: every device certificate costs one signature with it (DESIGN §5).
  const { privateKey } = generateKeyPair({ kind: 'ec', curve: 'P-256' });
  return { spki: spkiDer(privateKey), signer: keySigner(privateKey), sealed: deps.vault.seal(privateKeyDer(privateKey, 'pkcs8').der, caId), label: null };
}

/**
 * Creates a managed issuing CA for a project (DESIGN §5 `POST …/pki/cas`):
 * - `generate`: a root (its key used once, to sign the issuing CA, then dropped: it exists
 *   nowhere afterwards) and an issuing intermediate with pathLen 0, active at once;
 * - `csr`: only the issuing key and a CSR for the customer to sign offline with their root;
 * - `cfssl`: a remote cfssl signer holds the key; its CA certificate is fetched from it.
 * An active CA's certificate becomes a trust anchor of the project in the same transaction.
 */
export async function createManagedCa(deps: PkiDeps, principal: Principal, project: ProjectRow, input: ManagedCaInput): Promise<ManagedCa> {
  const now = deps.now();
  const at = now.toISOString();
  const id = randomUUID();
  if (input.mode === 'cfssl' && principal.kind !== 'admin') {
    // The server calls the URL and makes what answers there a trust anchor: an operator's
    // decision (a project key could otherwise aim the server at any address it can reach).
    throw new ServiceError('ADMIN_KEY_REQUIRED', 'a cfssl signer is set up with the admin API key');
  }
  const profile = { ...DEFAULT_ISSUANCE_PROFILE, ...input.profile };
  if (profile.defaultDays > profile.maxDays) {
    throw new ServiceError('VALIDATION_FAILED', `profile.defaultDays (${profile.defaultDays}) exceeds profile.maxDays (${profile.maxDays})`);
  }
  const base: ManagedCasTable = {
    id,
    project_id: project.id,
    status: 'pending',
    mode: input.mode,
    key_storage: 'sealed',
    sealed_key: null,
    pkcs11_label: null,
    remote_url: null,
    remote_profile: null,
    csr_der: null,
    certificate_der: null,
    chain_pem: null,
    ca_certificate_id: null,
    default_days: profile.defaultDays,
    max_days: profile.maxDays,
    key_types: JSON.stringify(profile.keyTypes),
    created_at: at,
    updated_at: at,
    activated_at: null,
  };
  if (input.mode === 'cfssl') {
    if (!input.cfssl) throw new ServiceError('VALIDATION_FAILED', 'mode cfssl needs cfssl.url');
    const certificate = await fetchCfsslCaCertificate(input.cfssl.url);
    const row: ManagedCasTable = { ...base, key_storage: 'remote', remote_url: input.cfssl.url, remote_profile: input.cfssl.profile ?? null };
    return activate(deps, principal, project, row, certificate, null, 'create');
  }
  const storage = input.keyStorage ?? 'sealed';
  const key = newIssuingKey(deps, id, storage);
  const keyed: ManagedCasTable = { ...base, key_storage: storage, sealed_key: key.sealed, pkcs11_label: key.label };
  if (input.mode === 'csr') {
    const row: ManagedCasTable = { ...keyed, csr_der: createCsrWithSigner(caSubject(project, 'Issuing CA'), key.spki, key.signer) };
    await insertPending(deps, principal, project, row);
    return managedCaView(row);
  }
  const rootKey = generateKeyPair({ kind: 'ec', curve: 'P-384' }).privateKey;
  const root = parseCertificate(createSelfSignedCa({ subject: caSubject(project, 'Root CA'), privateKey: rootKey, validity: validityForDays(now, GENERATED_ROOT_DAYS), pathLen: 1 }).der);
  const issuing = issueCertificate(prepareIssuer(root, rootKey), {
    subject: caSubject(project, 'Issuing CA'),
    publicKey: parseSubjectPublicKeyInfo(key.spki, 'issuing CA public key'),
    validity: validityForDays(now, ISSUING_CA_DAYS),
    profile: { kind: 'intermediate-ca', pathLen: 0 },
  });
  return activate(deps, principal, project, keyed, parseCertificate(issuing.der), encodePem('CERTIFICATE', root.der), 'create');
}

async function insertPending(deps: PkiDeps, principal: Principal, project: ProjectRow, row: ManagedCasTable): Promise<void> {
  try {
    await deps.db.transaction().execute(async (trx) => {
      await trx.insertInto('managed_cas').values(row).execute();
      await recordAudit(trx, deps.now(), {
        actor: actorName(principal),
        action: 'pki.ca.create',
        targetType: 'managed-ca',
        targetId: row.id,
        projectId: project.id,
        details: { mode: row.mode, keyStorage: row.key_storage, status: row.status },
      });
    });
  } catch (error) {
    if (isForeignKeyViolation(error)) throw projectGone(project);
    throw error;
  }
}

/**
 * Makes a CA active with its certificate: stored on the CA, registered as a trust anchor of the
 * project (ca_certificates, so the gateway's identity service and its caches see it through the
 * project's CA generation), audited — one transaction.
 */
async function activate(
  deps: PkiDeps,
  principal: Principal,
  project: ProjectRow,
  row: ManagedCasTable,
  certificate: Certificate,
  chainPem: string | null,
  how: 'create' | 'complete',
): Promise<ManagedCa> {
  const now = deps.now();
  const at = now.toISOString();
  const { certType } = checkCaUpload(certificate, undefined, now);
  const content = certificateContent(certificate);
  const anchor: CaCertificatesTable = {
    id: randomUUID(),
    project_id: project.id,
    cert_type: certType,
    enabled: 1,
    der: certificate.der,
    fingerprint_sha256: content.fingerprintSha256,
    subject: content.subject,
    not_after: content.notAfter,
    content: JSON.stringify(content),
    created_at: at,
    updated_at: at,
    purpose: 'device',
    crl_url: null,
  };
  const active: ManagedCasTable = { ...row, status: 'active', certificate_der: certificate.der, chain_pem: chainPem, ca_certificate_id: anchor.id, updated_at: at, activated_at: at };
  try {
    await deps.db.transaction().execute(async (trx) => {
      const existing = await trx.selectFrom('ca_certificates').select(['id', 'purpose']).where('project_id', '=', project.id).where('fingerprint_sha256', '=', anchor.fingerprint_sha256).executeTakeFirst();
      if (existing?.purpose === 'manufacturer') {
        // A factory CA vouches for enrollment only; it never becomes a connect anchor (and the
        // fingerprint is unique per project, so it cannot be uploaded twice either).
        throw new ServiceError('CA_DUPLICATE', 'this CA is already uploaded to the project as a manufacturer CA; it cannot also be its issuing CA', { existingId: existing.id, fingerprintSha256: anchor.fingerprint_sha256 });
      }
      if (existing) {
        // The same CA already uploaded by hand (a cfssl CA the project trusted before): reuse that anchor.
        active.ca_certificate_id = existing.id;
      } else {
        await trx.insertInto('ca_certificates').values(anchor).execute();
      }
      if (how === 'complete') {
        expectOneRow(
          await trx
            .updateTable('managed_cas')
            .set({ status: 'active', certificate_der: active.certificate_der, chain_pem: active.chain_pem, ca_certificate_id: active.ca_certificate_id, updated_at: at, activated_at: at })
            .where('id', '=', row.id)
            .where('status', '=', 'pending')
            .executeTakeFirst(),
        );
      } else {
        await trx.insertInto('managed_cas').values(active).execute();
      }
      await bumpGenerations(trx, project.id, { ca: true });
      await recordAudit(trx, now, {
        actor: actorName(principal),
        action: how === 'create' ? 'pki.ca.create' : 'pki.ca.activate',
        targetType: 'managed-ca',
        targetId: row.id,
        projectId: project.id,
        details: { mode: row.mode, keyStorage: row.key_storage, status: 'active', subject: content.subject, fingerprintSha256: content.fingerprintSha256, caCertificateId: active.ca_certificate_id },
      });
    });
  } catch (error) {
    if (isForeignKeyViolation(error)) throw projectGone(project);
    throw error;
  }
  return managedCaView(active);
}

export async function listManagedCas(deps: PkiDeps, project: ProjectRow, request: PageRequest): Promise<Page<ManagedCa>> {
  const query = deps.db.selectFrom('managed_cas').where('project_id', '=', project.id);
  return fetchPage(deps.db, query, (q) => q.selectAll(), managedCaView, request, oldestFirst());
}

async function findManagedCa(deps: PkiDeps, project: ProjectRow, id: string): Promise<ManagedCasTable> {
  const row = await deps.db.selectFrom('managed_cas').selectAll().where('project_id', '=', project.id).where('id', '=', id).executeTakeFirst();
  if (!row) throw new ServiceError('MANAGED_CA_NOT_FOUND', `no managed CA ${JSON.stringify(id)} in project ${JSON.stringify(project.slug)}`, { caId: id });
  return row;
}

export async function getManagedCa(deps: PkiDeps, project: ProjectRow, id: string): Promise<ManagedCa> {
  return managedCaView(await findManagedCa(deps, project, id));
}

/**
 * Completes a csr-mode CA with the certificate the customer signed offline (`PUT
 * …/pki/cas/{caId}/certificate {certFile}`): the first certificate of certFile is the issuing
 * CA and must certify the pending key; the rest (its root, other intermediates) is kept as the chain.
 */
export async function completeManagedCa(deps: PkiDeps, principal: Principal, project: ProjectRow, id: string, certFile: string): Promise<ManagedCa> {
  const row = await findManagedCa(deps, project, id);
  if (row.status !== 'pending' || !row.csr_der) {
    throw new ServiceError('MANAGED_CA_NOT_PENDING', `managed CA ${id} is ${row.status}; only a pending csr-mode CA takes a certificate`, { caId: id, status: row.status });
  }
  const items = decodeCertFile(certFile);
  const certificates: Certificate[] = [];
  for (const item of items) {
    if ('error' in item) throw item.error;
    certificates.push(item.certificate);
  }
  const [issuing, ...chain] = certificates as [Certificate, ...Certificate[]];
  const pendingKey = parseCsr(Buffer.from(row.csr_der)).publicKey.der;
  if (!issuing.publicKey.der.equals(pendingKey)) {
    throw new ServiceError('MANAGED_CA_KEY_MISMATCH', 'the certificate does not certify this CA’s key: sign the CSR this CA returned', { caId: id });
  }
  const chainPem = chain.length > 0 ? chain.map((c) => encodePem('CERTIFICATE', c.der)).join('') : null;
  return activate(deps, principal, project, row, issuing, chainPem, 'complete');
}
