import { createHash } from 'node:crypto';
import { booleanTrue, constructed, namedBits, octetString, oid, sequence, smallInteger, tlv } from './der/writer.js';
import type { KeyAlgorithm } from './key-algorithm.js';
import { Oid } from './oids.js';

/** Where relying parties find a device certificate's revocation status: its CA's CRL and OCSP responder. */
export interface RevocationUrls {
  readonly crl?: string | undefined;
  readonly ocsp?: string | undefined;
}

/** The certificate kinds fleetpki issues (DESIGN §2). */
export type CertificateProfile =
  | { readonly kind: 'root-ca'; readonly pathLen?: number | undefined }
  | { readonly kind: 'intermediate-ca'; readonly pathLen?: number | undefined }
  | { readonly kind: 'device'; readonly revocationUrls?: RevocationUrls | undefined }
  /** A TLS server (the platform's gateway): serverAuth, and the names devices connect to. */
  | { readonly kind: 'server'; readonly dnsNames: readonly string[]; readonly ipAddresses: readonly Buffer[] };

/** One Extension (RFC 5280 §4.1): its OID, criticality when true, and the value's DER in an OCTET STRING. */
export function extensionDer(id: string, critical: boolean, value: Buffer): Buffer {
  return critical ? sequence([oid(id), booleanTrue(), octetString(value)]) : sequence([oid(id), octetString(value)]);
}

// Constant extensions, encoded once.
const DEVICE_BASIC_CONSTRAINTS = extensionDer(Oid.basicConstraints, true, sequence([]));
const DEVICE_KEY_USAGE_EC = extensionDer(Oid.keyUsage, true, namedBits([0]));
// RSA keys may also do RSA key transport in TLS 1.2, hence keyEncipherment (as step-ca does).
const DEVICE_KEY_USAGE_RSA = extensionDer(Oid.keyUsage, true, namedBits([0, 2]));
const CLIENT_AUTH_EKU = extensionDer(Oid.extKeyUsage, false, sequence([oid(Oid.clientAuth)]));
const SERVER_AUTH_EKU = extensionDer(Oid.extKeyUsage, false, sequence([oid(Oid.serverAuth)]));
const CA_KEY_USAGE = extensionDer(Oid.keyUsage, true, namedBits([5, 6]));

function caBasicConstraints(pathLen: number | undefined): Buffer {
  const fields = [booleanTrue()];
  if (pathLen !== undefined) fields.push(smallInteger(pathLen));
  return extensionDer(Oid.basicConstraints, true, sequence(fields));
}

// RFC 5280 §4.2.1.6: dNSName [2] IA5String, iPAddress [7] OCTET STRING. Subscriber names live
// only here (CA/B BR 7.1.4.3 keeps the CN out of name matching), so this extension is required.
function subjectAltNames(profile: { readonly dnsNames: readonly string[]; readonly ipAddresses: readonly Buffer[] }): Buffer {
  const names = [...profile.dnsNames.map((name) => tlv(0x82, Buffer.from(name, 'ascii'))), ...profile.ipAddresses.map((ip) => tlv(0x87, ip))];
  return extensionDer(Oid.subjectAltName, false, sequence(names));
}

/** RFC 5280 §4.2.1.13: one DistributionPoint naming the CRL by URI (fullName [0], uniformResourceIdentifier [6]). */
function crlDistributionPoints(url: string): Buffer {
  return extensionDer(Oid.crlDistributionPoints, false, sequence([sequence([constructed(0xa0, [constructed(0xa0, [tlv(0x86, Buffer.from(url, 'ascii'))])])])]));
}

/** RFC 5280 §4.2.2.1: the OCSP responder, by URI. */
function authorityInfoAccess(ocspUrl: string): Buffer {
  return extensionDer(Oid.authorityInfoAccess, false, sequence([sequence([oid(Oid.adOcsp), tlv(0x86, Buffer.from(ocspUrl, 'ascii'))])]));
}

/** RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING value. */
export function keyIdentifier(subjectPublicKey: Buffer): Buffer {
  return createHash('sha1').update(subjectPublicKey).digest();
}

export function subjectKeyIdentifierExtension(keyId: Buffer): Buffer {
  return extensionDer(Oid.subjectKeyIdentifier, false, octetString(keyId));
}

export function authorityKeyIdentifierExtension(keyId: Buffer): Buffer {
  return extensionDer(Oid.authorityKeyIdentifier, false, sequence([tlv(0x80, keyId)]));
}

/**
 * The extensions of a profile, in the order openssl writes them. `authorityKeyId` is the
 * pre-encoded AKI extension of the issuer, absent for a self-signed root.
 */
export function profileExtensions(
  profile: CertificateProfile,
  subjectKey: KeyAlgorithm,
  subjectKeyId: Buffer,
  authorityKeyIdExtension: Buffer | undefined,
): Buffer[] {
  const out: Buffer[] = [];
  if (profile.kind === 'device') {
    out.push(DEVICE_BASIC_CONSTRAINTS, subjectKey.kind === 'rsa' ? DEVICE_KEY_USAGE_RSA : DEVICE_KEY_USAGE_EC, CLIENT_AUTH_EKU);
  } else if (profile.kind === 'server') {
    out.push(DEVICE_BASIC_CONSTRAINTS, subjectKey.kind === 'rsa' ? DEVICE_KEY_USAGE_RSA : DEVICE_KEY_USAGE_EC, SERVER_AUTH_EKU, subjectAltNames(profile));
  } else {
    out.push(caBasicConstraints(profile.pathLen), CA_KEY_USAGE);
  }
  out.push(subjectKeyIdentifierExtension(subjectKeyId));
  if (authorityKeyIdExtension) out.push(authorityKeyIdExtension);
  if (profile.kind === 'device' && profile.revocationUrls?.crl) out.push(crlDistributionPoints(profile.revocationUrls.crl));
  if (profile.kind === 'device' && profile.revocationUrls?.ocsp) out.push(authorityInfoAccess(profile.revocationUrls.ocsp));
  return out;
}

