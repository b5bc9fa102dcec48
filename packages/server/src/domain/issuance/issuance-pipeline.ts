import {
  deviceIdentityFromSubject,
  deviceSubject,
  fingerprintSha256,
  isPkiError,
  Oid,
  parseCertificate,
  parseCsr,
  serialHex,
  validateDeviceCertificate,
  validityForDays,
  assertCsrSignature,
  endsAfterIssuer,
  formatSubjectString,
  type CertificationRequest,
  type DistinguishedName,
  type PublicKeyInfo,
  type RevocationUrls,
} from '@fleetpki/pki';
import { isServiceError, ServiceError } from '../../service-error.js';
import type { ProjectRow } from '../../store/schema.js';
import { auditRow, recordAudit } from '../shared/audit-log.js';
import { checkDeviceKey, validityDays } from './issuance-profile.js';
import type { SignedCertificate } from '../signers/certificate-signer.js';
import { isClaimRefusal, type ClaimRefusal, type IssuanceClaims, type IssuanceRecord } from './issuance-record-sink.js';
import { fromCoreFailure } from './core-failures.js';
import { disabledDevice } from '../management/devices.js';
import { timeOrderedId } from '../shared/time-ordered-id.js';
import { NO_TELEMETRY } from '../shared/telemetry.js';
import { serialNumberText } from '../revocation/index.js';
import type { PkiDeps } from './pki-deps.js';

export type IssuanceChannel = 'api' | 'rotation' | 'est-enroll' | 'est-reenroll' | 'est-serverkeygen' | 'cmp';

/**
 * What is asked to be certified: a PKCS#10 CSR (its signature is the proof of possession, checked
 * here), or a CRMF request whose proof of possession the transport already checked (CMP's
 * ir/cr/kur, RFC 4211 §4.1).
 */
export type CertificateRequestInput = { readonly kind: 'csr'; readonly der: Buffer } | { readonly kind: 'crmf'; readonly subject: DistinguishedName; readonly publicKey: PublicKeyInfo };

/**
 * The identity the caller is entitled to have certified. A device (rotation, re-enrollment, a
 * token made for one device) gets its own certificate ID whatever the CSR says; a factory line
 * (the API, a batch token) names the certificate ID in the CSR's CN, under the project's O.
 */
export type Entitlement =
  | { readonly kind: 'device'; readonly deviceId: string; readonly certificateId: string }
  /** An identity vouched for by someone else (a manufacturer certificate's CN), the device perhaps not yet known. */
  | { readonly kind: 'identity'; readonly certificateId: string }
  | { readonly kind: 'csr-subject' };

export interface IssuanceRequest {
  readonly project: ProjectRow;
  /** A PKCS#10 CSR (most ways in); `request` instead for CMP's CRMF requests. */
  readonly csrDer?: Buffer | undefined;
  readonly request?: CertificateRequestInput | undefined;
  readonly days?: number | undefined;
  readonly channel: IssuanceChannel;
  /** Who asked, as the audit log names them. */
  readonly actor: string;
  readonly entitlement: Entitlement;
  /**
   * What must commit with the record or not at all (a one-time token's use, a batch token's claim
   * on a new identity, a CMP transaction), made from the certificate once signed. A refused claim
   * keeps the record out, and the issuance fails with its code (issuance-record-sink.ts).
   */
  readonly claims?: ((issued: IssuedDeviceCertificate) => IssuanceClaims) | undefined;
  /** The caller already announced this issuance to the recorder (`enter`) when its request arrived. */
  readonly announced?: boolean | undefined;
}

export interface IssuedDeviceCertificate {
  readonly der: Buffer;
  readonly certificateId: string;
  readonly serialNumber: string;
  readonly fingerprintSha256: string;
  readonly notAfter: string;
  readonly caId: string;
  /** The issuing CA's certificate, for chains (EST cacerts, PEM bundles). */
  readonly caCertificateDer: Buffer;
  /** Where the CA key that signed it is (sealed, pkcs11, remote): the metrics' `mode`. */
  readonly signerKind: string;
}

/** Bound on a CSR the pipeline reads: an RSA-4096 CSR with extensions is under 2 KiB. */
export const MAX_CSR_BYTES = 16 * 1024;

/** Slack for a remote signer's clock when checking the validity it chose. */
const REMOTE_VALIDITY_SLACK_MS = 5 * 60 * 1000;

/**
 * The one issuance pipeline (DESIGN §7, step-ca's order), for every way in — the API, device
 * rotation (`POST /v1/csr`), EST: authorize → template from the profile → enforce the subject
 * → lint → sign → record → audit. Each stage refuses with its own code; nothing is signed
 * before every check passed, and nothing is returned before it is recorded.
 */
export async function issueDeviceCertificateFor(deps: PkiDeps, request: IssuanceRequest): Promise<IssuedDeviceCertificate> {
  // Announced to the recorder so that concurrent issuances share one commit (issuance-recorder.ts).
  if (!request.announced) deps.recorder.enter();
  let recording = false;
  const started = performance.now();
  try {
    const issued = await runPipeline(deps, request, () => (recording = true));
    (deps.telemetry ?? NO_TELEMETRY).certificateIssued(issued.signerKind, (performance.now() - started) / 1000);
    return issued;
  } catch (error) {
    if (isServiceError(error) && !recording) await auditRefusal(deps, request, error);
    throw error;
  } finally {
    if (!recording) deps.recorder.leave();
  }
}

/** A refused issuance is audited with its code (nothing was signed or recorded). */
async function auditRefusal(deps: PkiDeps, request: IssuanceRequest, error: ServiceError): Promise<void> {
  try {
    await recordAudit(deps.db, deps.now(), {
      actor: request.actor,
      action: 'pki.certificate.refuse',
      targetType: 'project',
      targetId: request.project.slug,
      projectId: request.project.id,
      details: { channel: request.channel, code: error.code },
    });
  } catch {
    // The refusal stands whether or not the store took its audit event (it may be the store that failed).
  }
}

async function runPipeline(deps: PkiDeps, request: IssuanceRequest, recordingStarts: () => void): Promise<IssuedDeviceCertificate> {
  const { project } = request;
  const now = deps.now();

  // 1. Authorize: the project issues through an enabled CA; a device entitled by itself is enabled.
  const ca = await deps.issuingCas.forProject(project);
  if (!ca.anchorEnabled) {
    throw new ServiceError('MANAGED_CA_DISABLED', 'the project’s issuing CA is disabled as a trust anchor; it issues nothing until enabled', { caId: ca.id });
  }
  let deviceId: string | null = null;
  if (request.entitlement.kind === 'device') {
    const device = await deps.db.selectFrom('devices').select(['enabled', 'certificate_id', 'name']).where('id', '=', request.entitlement.deviceId).where('project_id', '=', project.id).executeTakeFirst();
    if (!device) throw new ServiceError('DEVICE_NOT_FOUND', 'the device no longer exists', { deviceId: request.entitlement.deviceId });
    const disabled = disabledDevice(device);
    if (disabled) throw new ServiceError(disabled.code, `${disabled.message}: it gets no certificate`, { deviceId: request.entitlement.deviceId });
    // The entitlement was taken earlier (a token made for the device, a connection authenticated
    // as it): the device must still answer to that identity, or a rename since then would hand
    // this certificate to whichever device now bears the name (DESIGN §4: certificate ID, else name).
    if ((device.certificate_id ?? device.name) !== request.entitlement.certificateId) {
      throw new ServiceError('DEVICE_IDENTITY_CHANGED', 'the device no longer answers to the identity this request was entitled to', { deviceId: request.entitlement.deviceId });
    }
    deviceId = request.entitlement.deviceId;
  } else if (request.entitlement.kind === 'identity') {
    const device = await deps.db.selectFrom('devices').select(['id', 'enabled', 'name']).where('project_id', '=', project.id).where('certificate_id', '=', request.entitlement.certificateId).executeTakeFirst();
    const disabled = device && disabledDevice(device);
    if (device && disabled) throw new ServiceError(disabled.code, `${disabled.message}: it gets no certificate`, { deviceId: device.id });
    deviceId = device?.id ?? null;
  }

  // 2. Template from the profile: validity (default and maximum).
  const days = validityDays(ca.profile, request.days);
  const validity = validityForDays(now, days);

  // The request: a CSR parses and its signature proves possession of the key (RFC 2986 §3); a
  // CRMF request's proof was checked by its transport. The key must be one the profile allows.
  const input: CertificateRequestInput = request.request ?? { kind: 'csr', der: request.csrDer ?? Buffer.alloc(0) };
  let csr: CertificationRequest | undefined;
  if (input.kind === 'csr') {
    csr = readCsr(input.der);
    await assertCsrSignature(csr).catch((error: unknown) => {
      throw isPkiError(error) ? fromCoreFailure(error, 'csr-signature') : error;
    });
  } else if (ca.signer.kind === 'remote') {
    throw new ServiceError('SIGNER_NEEDS_CSR', 'the project’s CA signs through a remote signer, which takes CSRs only: enroll with a CSR (CMP p10cr, EST, the API)');
  }
  const requested = csr ?? (input as Extract<CertificateRequestInput, { kind: 'crmf' }>);
  checkDeviceKey(ca.profile, requested.publicKey.algorithm);

  // 3. Enforce the subject: O = the project's slug, CN = the certificate ID the caller is entitled to.
  const certificateId = request.entitlement.kind === 'csr-subject' ? certificateIdFromSubject(requested.subject, project.slug) : request.entitlement.certificateId;
  const subject = deviceSubject(project.slug, certificateId);

  // 4. Lint what no signer may be asked for: a certificate outliving its CA stops validating early.
  const caCertificate = ca.signer.caCertificate;
  if (endsAfterIssuer(caCertificate, validity)) {
    throw new ServiceError('VALIDITY_EXCEEDS_CA', `${days} days would end after the issuing CA expires (${caCertificate.notAfter.toISOString()})`, {
      days,
      caNotAfter: caCertificate.notAfter.toISOString(),
    });
  }

  // 5. Sign, through whatever holds the key.
  let signed: SignedCertificate;
  try {
    signed = await ca.signer.sign({ subject, publicKey: requested.publicKey, validity, csrDer: csr?.der, profile: { kind: 'device', revocationUrls: revocationUrlsOf(deps, ca) } });
  } catch (error) {
    if (isPkiError(error) && error.code === 'WEAK_KEY') throw fromCoreFailure(error, 'sign');
    throw error;
  }
  const { der } = signed;
  // A local signer built this certificate from the template above; a remote one is read back and checked.
  let serialNumber = signed.serialNumber;
  let notBefore = validity.notBefore;
  let notAfter = validity.notAfter;
  if (ca.signer.kind === 'remote' || serialNumber === undefined) {
    const certificate = parseCertificate(der);
    if (ca.signer.kind === 'remote') {
      // The signer's own profile sets the lifetime (cfssl's API takes none): the days asked for
      // bound it, else the profile's maximum.
      const allowedDays = request.days ?? ca.profile.maxDays;
      checkRemoteCertificate(certificate, requested.publicKey, project.slug, certificateId, caCertificate, now, allowedDays, validityForDays(now, allowedDays).notAfter);
    }
    serialNumber = certificate.serialNumber;
    notBefore = certificate.notBefore;
    notAfter = certificate.notAfter;
  }

  // 6–7. Record and audit, committed before the certificate leaves the server.
  const issued: IssuedDeviceCertificate = {
    der,
    certificateId,
    serialNumber: serialHex({ serialNumber }),
    fingerprintSha256: fingerprintSha256(der),
    notAfter: notAfter.toISOString(),
    caId: ca.id,
    caCertificateDer: caCertificate.der,
    signerKind: ca.signer.kind,
  };
  const at = now.toISOString();
  const record: IssuanceRecord = {
    certificate: {
      id: timeOrderedId(now),
      project_id: project.id,
      managed_ca_id: ca.id,
      serial: issued.serialNumber,
      fingerprint_sha256: issued.fingerprintSha256,
      certificate_id: certificateId,
      device_id: deviceId,
      channel: request.channel,
      not_after: issued.notAfter,
      created_at: at,
    },
    // The inventory knows it from its issuance: its device's other certificates are superseded
    // once it is first used (supersession.ts), and it is listed before it ever connects.
    inventory: {
      project_id: project.id,
      fingerprint_sha256: issued.fingerprintSha256,
      serial_number: serialNumberText(serialNumber),
      issuer: formatSubjectString(caCertificate.subject),
      subject: formatSubjectString(subject),
      not_before: notBefore.toISOString(),
      not_after: issued.notAfter,
      ca_id: ca.anchorCaId,
      issuer_ca_id: ca.anchorCaId,
      device_id: deviceId,
      source: 'issued',
      status: 'active',
      issued_at: at,
    },
    audit: auditRow(now, {
      actor: request.actor,
      action: 'pki.certificate.issue',
      targetType: 'certificate',
      targetId: issued.fingerprintSha256,
      projectId: project.id,
      details: { channel: request.channel, certificateId, serialNumber: issued.serialNumber, notAfter: issued.notAfter, caId: ca.id },
    }),
  };
  const claims = request.claims?.(issued);
  recordingStarts();
  try {
    await deps.recorder.record(claims ? { ...record, claims } : record);
  } catch (error) {
    if (claims && isClaimRefusal(error)) {
      const refusal = claimRefusal(error.code, claims, certificateId);
      await auditRefusal(deps, request, refusal);
      throw refusal;
    }
    throw error;
  }
  return issued;
}

/** A claim the store refused, as the service's error: nothing was recorded. */
function claimRefusal(code: ClaimRefusal, claims: IssuanceClaims, certificateId: string): ServiceError {
  switch (code) {
    case 'ENROLLMENT_TOKEN_USED':
      return new ServiceError('ENROLLMENT_TOKEN_USED', 'the enrollment token was already used; each token enrolls once', { tokenId: claims.tokenUse?.tokenId ?? '' });
    case 'CERTIFICATE_ID_TAKEN':
      return new ServiceError('CERTIFICATE_ID_TAKEN', `certificate ID ${JSON.stringify(certificateId)} already belongs to a device of the project; a batch token enrolls only new devices`, { certificateId });
    case 'CMP_TRANSACTION_ID_IN_USE':
      return new ServiceError('CMP_TRANSACTION_ID_IN_USE', 'this transactionID was used before', { transactionId: claims.cmpTransaction?.transaction_id ?? '' });
  }
}

function readCsr(der: Buffer): CertificationRequest {
  // The same code as every transport's own read of a CSR body past the bound (BODY_TOO_LARGE).
  if (der.length > MAX_CSR_BYTES) throw new ServiceError('BODY_TOO_LARGE', `a CSR is at most ${MAX_CSR_BYTES} bytes`, { maxBytes: MAX_CSR_BYTES });
  try {
    return parseCsr(der);
  } catch (error) {
    if (isPkiError(error)) throw fromCoreFailure(error, 'csr-parse');
    throw error;
  }
}

function certificateIdFromSubject(subject: DistinguishedName, slug: string): string {
  try {
    return deviceIdentityFromSubject(subject, slug).certificateId;
  } catch (error) {
    if (isPkiError(error)) throw fromCoreFailure(error, 'csr-subject');
    throw error;
  }
}

/**
 * A remote signer built the certificate itself: it is used only if it is exactly what the
 * pipeline decided — a device certificate for this identity and this CSR's key, chaining to
 * the project's CA (the same validation the gateway applies), within the lifetime decided.
 */
function checkRemoteCertificate(
  certificate: ReturnType<typeof parseCertificate>,
  publicKey: PublicKeyInfo,
  slug: string,
  certificateId: string,
  caCertificate: ReturnType<typeof parseCertificate>,
  now: Date,
  days: number,
  notAfter: Date,
): void {
  const refuse = (why: string, facts: Record<string, string> = {}) => new ServiceError('SIGNER_RESPONSE_INVALID', `the remote signer returned a certificate that ${why}`, facts);
  if (!certificate.publicKey.der.equals(publicKey.der)) throw refuse('certifies another key');
  const result = validateDeviceCertificate([certificate], slug, [caCertificate], [], now);
  if (!result.ok) throw refuse(`does not validate (${result.code})`, { reason: result.code });
  if (result.identity.certificateId !== certificateId) throw refuse('names another device', { certificateId: result.identity.certificateId });
  if (certificate.notAfter.getTime() > notAfter.getTime() + REMOTE_VALIDITY_SLACK_MS) {
    throw refuse(`outlives the ${days} days this issuance allows (the signer's profile sets its lifetime: keep it within them)`, { notAfter: certificate.notAfter.toISOString() });
  }
  // The signer's profile is not ours to trust: a CA-capable or multi-purpose certificate under an
  // anchor other projects may share would let its holder mint certificates for them. Only the
  // shape fleetpki itself issues passes: an end entity, no certificate or CRL signing, EKU
  // exactly clientAuth, no subjectAltName (RFC 5280 §4.2.1.3, §4.2.1.9, §4.2.1.12).
  if (certificate.basicConstraints?.ca === true) throw refuse('is a CA certificate (basicConstraints cA=TRUE)');
  if (certificate.keyUsage?.some((usage) => usage === 'keyCertSign' || usage === 'cRLSign')) throw refuse('may sign certificates or CRLs (keyUsage)');
  const eku = certificate.extKeyUsage;
  if (!eku || eku.length !== 1 || eku[0] !== Oid.clientAuth) throw refuse('does not carry exactly the clientAuth extended key usage');
  if (certificate.subjectAltNames !== undefined && certificate.subjectAltNames.length > 0) throw refuse('carries subjectAltNames');
}

/**
 * Where an issued certificate's revocation is published: its CA's CRL and the OCSP responder,
 * under the server's public URL — for a CA whose key signs here (a remote signer publishes its own).
 */
function revocationUrlsOf(deps: PkiDeps, ca: { readonly id: string; readonly signer: { readonly authority: unknown } }): RevocationUrls | undefined {
  const base = deps.publicUrl();
  if (!base || !ca.signer.authority) return undefined;
  const root = base.replace(/\/+$/, '');
  return { crl: `${root}/v1/pki/cas/${ca.id}/crl`, ocsp: `${root}/v1/pki/ocsp` };
}
