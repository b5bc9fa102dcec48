import { createHash } from 'node:crypto';
import {
  certificateContent,
  crlSignatureAlgorithmName,
  csrSignatureAlgorithmName,
  deviceIdentityFromSubject,
  fingerprintSha256,
  formatKeyAlgorithm,
  formatNameForDisplay,
  formatSubjectString,
  isPkiError,
  oidName,
  serialHex,
  spkiDer,
  verifyCsrSignature,
  type CertificateContent,
  type CertificationRequest,
  type DeviceIdentity,
  type DistinguishedName,
  type Extension,
  type PkiErrorCode,
  type PkiObject,
} from '@fleetpki/pki';

interface ExtensionSummary {
  readonly oid: string;
  readonly name: string;
  readonly critical: boolean;
}

/** What `inspect` reports, per kind; the JSON form is exactly these objects. */
export type InspectSummary =
  | (CertificateContent & {
      readonly type: 'certificate';
      readonly version: number;
      readonly extensions: readonly ExtensionSummary[];
      readonly deviceIdentity: DeviceIdentity | null;
    })
  | {
      readonly type: 'csr';
      readonly subject: string;
      readonly publicKeyAlgorithm: string;
      readonly signatureAlgorithm: string;
      readonly signatureValid: boolean;
      /** Why the signature could not be checked at all (an algorithm we refuse), else null. */
      readonly signatureError: PkiErrorCode | null;
      readonly requestedExtensions: readonly ExtensionSummary[];
      readonly deviceIdentity: DeviceIdentity | null;
    }
  | {
      readonly type: 'crl';
      readonly version: number;
      readonly issuer: string;
      readonly thisUpdate: string;
      readonly nextUpdate: string | null;
      readonly signatureAlgorithm: string;
      readonly revoked: readonly { readonly serialNumber: string; readonly revocationDate: string }[];
      readonly fingerprintSha256: string;
    }
  | { readonly type: 'private-key'; readonly format: string; readonly publicKeyAlgorithm: string; readonly publicKeySha256: string }
  | { readonly type: 'public-key'; readonly publicKeyAlgorithm: string; readonly publicKeySha256: string };

function deviceIdentity(subject: DistinguishedName): DeviceIdentity | null {
  try {
    return deviceIdentityFromSubject(subject);
  } catch (err) {
    if (isPkiError(err)) return null;
    throw err;
  }
}

function extensionSummaries(extensions: readonly Extension[]): ExtensionSummary[] {
  return extensions.map((e) => ({ oid: e.oid, name: oidName(e.oid), critical: e.critical }));
}

async function csrSignature(csr: CertificationRequest): Promise<{ valid: boolean; error: PkiErrorCode | null }> {
  try {
    return { valid: await verifyCsrSignature(csr), error: null };
  } catch (err) {
    if (isPkiError(err)) return { valid: false, error: err.code };
    throw err;
  }
}

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

export async function inspectSummary(object: PkiObject): Promise<InspectSummary> {
  switch (object.kind) {
    case 'certificate': {
      const cert = object.certificate;
      return {
        type: 'certificate',
        version: cert.version,
        ...certificateContent(cert),
        extensions: extensionSummaries(cert.extensions),
        deviceIdentity: deviceIdentity(cert.subject),
      };
    }
    case 'csr': {
      const csr = object.csr;
      const signature = await csrSignature(csr);
      return {
        type: 'csr',
        subject: formatSubjectString(csr.subject),
        publicKeyAlgorithm: formatKeyAlgorithm(csr.publicKey.algorithm),
        signatureAlgorithm: csrSignatureAlgorithmName(csr),
        signatureValid: signature.valid,
        signatureError: signature.error,
        requestedExtensions: extensionSummaries(csr.requestedExtensions),
        deviceIdentity: deviceIdentity(csr.subject),
      };
    }
    case 'crl': {
      const crl = object.crl;
      return {
        type: 'crl',
        version: crl.version,
        issuer: formatSubjectString(crl.issuer),
        thisUpdate: crl.thisUpdate.toISOString(),
        nextUpdate: crl.nextUpdate?.toISOString() ?? null,
        signatureAlgorithm: crlSignatureAlgorithmName(crl),
        revoked: crl.revoked.map((r) => ({ serialNumber: serialHex(r), revocationDate: r.revocationDate.toISOString() })),
        fingerprintSha256: fingerprintSha256(crl.der),
      };
    }
    case 'private-key':
      return {
        type: 'private-key',
        format: object.privateKey.format,
        publicKeyAlgorithm: formatKeyAlgorithm(object.privateKey.algorithm),
        publicKeySha256: sha256(spkiDer(object.privateKey.key)),
      };
    case 'public-key':
      return {
        type: 'public-key',
        publicKeyAlgorithm: formatKeyAlgorithm(object.publicKey.algorithm),
        publicKeySha256: sha256(object.publicKey.der),
      };
  }
}

function colonHex(hex: string): string {
  return (hex.toUpperCase().match(/../g) ?? []).join(':');
}

function describeIdentity(identity: DeviceIdentity | null): string | null {
  return identity ? `project ${identity.projectSlug}, certificate ID ${identity.certificateId}` : null;
}

/** MAX_CRL_LINES keeps a huge CRL readable on a terminal; --json has every entry. */
const MAX_CRL_LINES = 50;

/** The text form: what a person checks before trusting a file. */
export function inspectText(object: PkiObject, summary: InspectSummary): string {
  const lines: string[] = [];
  const row = (label: string, value: string | readonly string[] | null | undefined): void => {
    if (value === null || value === undefined || (Array.isArray(value) && value.length === 0)) return;
    lines.push(`  ${label.padEnd(22)} ${Array.isArray(value) ? value.join(', ') : String(value)}`);
  };
  switch (summary.type) {
    case 'certificate': {
      const cert = object.kind === 'certificate' ? object.certificate : undefined;
      lines.push(`Certificate (v${summary.version})${summary.isCa ? ' — CA' : ''}`);
      row('Subject', cert ? formatNameForDisplay(cert.subject) : summary.subject);
      row('Issuer', (cert ? formatNameForDisplay(cert.issuer) : summary.issuer) + (summary.selfIssued ? ' (self-issued)' : ''));
      row('Serial', summary.serialNumber);
      row('Not before', summary.notBefore);
      row('Not after', summary.notAfter);
      row('Public key', summary.publicKeyAlgorithm);
      row('Signature', summary.signatureAlgorithm);
      row('Basic constraints', summary.isCa ? `CA${summary.pathLen !== null ? `, pathLen ${summary.pathLen}` : ''}` : cert?.basicConstraints ? 'not a CA' : null);
      row('Key usage', summary.keyUsages);
      row('Extended key usage', summary.extendedKeyUsages);
      row('Subject alt names', summary.subjectAltNames);
      row('Subject key ID', summary.subjectKeyIdentifier && colonHex(summary.subjectKeyIdentifier));
      row('Authority key ID', summary.authorityKeyIdentifier && colonHex(summary.authorityKeyIdentifier));
      row('Critical extensions', summary.extensions.filter((e) => e.critical).map((e) => e.name));
      row('SHA-256 fingerprint', colonHex(summary.fingerprintSha256));
      row('Device identity', describeIdentity(summary.deviceIdentity));
      break;
    }
    case 'csr':
      lines.push('Certificate signing request');
      row('Subject', object.kind === 'csr' ? formatNameForDisplay(object.csr.subject) : summary.subject);
      row('Public key', summary.publicKeyAlgorithm);
      row('Signature', `${summary.signatureAlgorithm} (${summary.signatureError ?? (summary.signatureValid ? 'valid' : 'INVALID')})`);
      row('Requested extensions', summary.requestedExtensions.map((e) => e.name));
      row('Device identity', describeIdentity(summary.deviceIdentity) ?? 'none (not O=<slug>/CN=<certificate ID>)');
      break;
    case 'crl':
      lines.push(`Certificate revocation list (v${summary.version})`);
      row('Issuer', object.kind === 'crl' ? formatNameForDisplay(object.crl.issuer) : summary.issuer);
      row('This update', summary.thisUpdate);
      row('Next update', summary.nextUpdate);
      row('Signature', summary.signatureAlgorithm);
      row('Revoked', `${summary.revoked.length} certificate(s)`);
      for (const r of summary.revoked.slice(0, MAX_CRL_LINES)) lines.push(`    ${r.serialNumber}  ${r.revocationDate}`);
      if (summary.revoked.length > MAX_CRL_LINES) lines.push(`    … ${summary.revoked.length - MAX_CRL_LINES} more (use --json)`);
      break;
    case 'private-key':
      lines.push(`Private key (${summary.format.toUpperCase()})`);
      row('Algorithm', summary.publicKeyAlgorithm);
      row('Public key SHA-256', summary.publicKeySha256);
      break;
    case 'public-key':
      lines.push('Public key');
      row('Algorithm', summary.publicKeyAlgorithm);
      row('Public key SHA-256', summary.publicKeySha256);
      break;
  }
  return lines.join('\n');
}
