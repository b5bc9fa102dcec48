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
  type DeviceIdentity,
  type DistinguishedName,
  type PkiObject,
} from '@fleetpki/pki';
import { createHash } from 'node:crypto';

function deviceIdentity(subject: DistinguishedName): DeviceIdentity | null {
  try {
    return deviceIdentityFromSubject(subject);
  } catch (err) {
    if (isPkiError(err)) return null;
    throw err;
  }
}

function colonHex(hex: string): string {
  return (hex.toUpperCase().match(/../g) ?? []).join(':');
}

/** The JSON form of one object: stable field names for scripts. */
export async function inspectJson(object: PkiObject): Promise<Record<string, unknown>> {
  switch (object.kind) {
    case 'certificate': {
      const cert = object.certificate;
      return {
        type: 'certificate',
        version: cert.version,
        ...certificateContent(cert),
        extensions: cert.extensions.map((e) => ({ oid: e.oid, name: oidName(e.oid), critical: e.critical })),
        deviceIdentity: deviceIdentity(cert.subject),
      };
    }
    case 'csr': {
      const csr = object.csr;
      return {
        type: 'csr',
        subject: formatSubjectString(csr.subject),
        publicKeyAlgorithm: formatKeyAlgorithm(csr.publicKey.algorithm),
        signatureAlgorithm: csrSignatureAlgorithmName(csr),
        signatureValid: await verifyCsrSignature(csr),
        requestedExtensions: csr.requestedExtensions.map((e) => ({ oid: e.oid, name: oidName(e.oid), critical: e.critical })),
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
        revoked: crl.revoked.map((r) => ({
          serialNumber: serialHex(r),
          revocationDate: r.revocationDate.toISOString(),
        })),
        fingerprintSha256: fingerprintSha256(crl.der),
      };
    }
    case 'private-key': {
      const key = object.privateKey;
      return {
        type: 'private-key',
        format: key.format,
        publicKeyAlgorithm: formatKeyAlgorithm(key.algorithm),
        publicKeySha256: createHash('sha256').update(spkiDer(key.key)).digest('hex'),
      };
    }
    case 'public-key':
      return {
        type: 'public-key',
        publicKeyAlgorithm: formatKeyAlgorithm(object.publicKey.algorithm),
        publicKeySha256: createHash('sha256').update(object.publicKey.der).digest('hex'),
      };
  }
}

/** The text form: what a person checks before trusting a file. */
export async function inspectText(object: PkiObject): Promise<string> {
  const json = await inspectJson(object);
  const lines: string[] = [];
  const row = (label: string, value: unknown): void => {
    if (value === null || value === undefined || (Array.isArray(value) && value.length === 0)) return;
    lines.push(`  ${label.padEnd(22)} ${Array.isArray(value) ? value.join(', ') : String(value)}`);
  };
  switch (object.kind) {
    case 'certificate': {
      const cert = object.certificate;
      const c = certificateContent(cert);
      lines.push(`Certificate (v${cert.version})${c.isCa ? ' — CA' : ''}`);
      row('Subject', formatNameForDisplay(cert.subject));
      row('Issuer', formatNameForDisplay(cert.issuer) + (c.selfSigned ? ' (self-issued)' : ''));
      row('Serial', c.serialNumber);
      row('Not before', c.notBefore);
      row('Not after', c.notAfter);
      row('Public key', c.publicKeyAlgorithm);
      row('Signature', c.signatureAlgorithm);
      row('Basic constraints', c.isCa ? `CA${c.pathLen !== null ? `, pathLen ${c.pathLen}` : ''}` : cert.basicConstraints ? 'not a CA' : null);
      row('Key usage', c.keyUsages);
      row('Extended key usage', c.extendedKeyUsages);
      row('Subject alt names', c.subjectAltNames);
      row('Subject key ID', c.subjectKeyIdentifier && colonHex(c.subjectKeyIdentifier));
      row('Authority key ID', c.authorityKeyIdentifier && colonHex(c.authorityKeyIdentifier));
      const critical = cert.extensions.filter((e) => e.critical).map((e) => oidName(e.oid));
      row('Critical extensions', critical);
      row('SHA-256 fingerprint', colonHex(c.fingerprintSha256));
      const identity = json['deviceIdentity'] as DeviceIdentity | null;
      row('Device identity', identity ? `project ${identity.projectSlug}, certificate ID ${identity.certificateId}` : null);
      break;
    }
    case 'csr':
      lines.push('Certificate signing request');
      row('Subject', formatNameForDisplay(object.csr.subject));
      row('Public key', json['publicKeyAlgorithm']);
      row('Signature', `${String(json['signatureAlgorithm'])} (${json['signatureValid'] ? 'valid' : 'INVALID'})`);
      row('Requested extensions', (json['requestedExtensions'] as { name: string }[]).map((e) => e.name));
      {
        const identity = json['deviceIdentity'] as DeviceIdentity | null;
        row('Device identity', identity ? `project ${identity.projectSlug}, certificate ID ${identity.certificateId}` : 'none (not O=<slug>/CN=<certificate ID>)');
      }
      break;
    case 'crl':
      lines.push(`Certificate revocation list (v${object.crl.version})`);
      row('Issuer', formatNameForDisplay(object.crl.issuer));
      row('This update', json['thisUpdate']);
      row('Next update', json['nextUpdate']);
      row('Signature', json['signatureAlgorithm']);
      row('Revoked', `${object.crl.revoked.length} certificate(s)`);
      for (const r of object.crl.revoked.slice(0, 50)) lines.push(`    ${serialHex(r)}  ${r.revocationDate.toISOString()}`);
      if (object.crl.revoked.length > 50) lines.push(`    … ${object.crl.revoked.length - 50} more (use --json)`);
      break;
    case 'private-key':
      lines.push(`Private key (${object.privateKey.format.toUpperCase()})`);
      row('Algorithm', json['publicKeyAlgorithm']);
      row('Public key SHA-256', json['publicKeySha256']);
      break;
    case 'public-key':
      lines.push('Public key');
      row('Algorithm', json['publicKeyAlgorithm']);
      row('Public key SHA-256', json['publicKeySha256']);
      break;
  }
  return lines.join('\n');
}
