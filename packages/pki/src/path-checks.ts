import { weakKeyReason } from './key-strength.js';
import { isSelfIssued, type Certificate } from './certificate.js';
import type { CertificateRevocationList, RevokedCertificate } from './crl.js';
import { CrlEntryIndex } from './crl-entry-index.js';
import type { SignatureCache } from './signature-cache.js';
import { dnsNameMatches, normalizeDnsName } from './dns-name.js';
import { crlEntryReasonOf, crlNumberOf, deltaCrlBaseOf } from './crl-fields.js';
import { crlReasonName } from './crl-reason.js';
import type { PkiErrorCode, PkiErrorContext } from './errors.js';
import { decodeAuthorityInfoAccess, extendedKeyUsageAllows, UNDERSTOOD_EXTENSIONS } from './extensions.js';
import { parseIpAddress } from './ip-address.js';
import { constrainedNames, decodeNameConstraints, MAX_NAME_CONSTRAINT_CHECKS, nameConstraintViolation, type ConstraintBudget } from './name-constraints.js';
import { ALL_REASONS, crlScope } from './crl-scope.js';
import { namesMatch } from './name-matching.js';
import { policyViolation, type PolicyParameters } from './policy-graph.js';
import { formatNameForDisplay, type DistinguishedName } from './name.js';
import { Oid, oidName } from './oids.js';
import { verifySignature } from './signature.js';

/** What the caller asks of a path beyond RFC 5280's core (the "policy" of DESIGN §7). */
export interface ValidationOptions {
  /** client: devices (EKU clientAuth when EKU is present); server: TLS servers, with web-PKI profile checks. */
  readonly purpose?: 'client' | 'server';
  /** Extra key purposes the leaf must allow, as OIDs. */
  readonly extendedKeyUsage?: readonly string[];
  /** Names the leaf must carry in its subjectAltName (RFC 6125: no CN fallback). */
  readonly peerNames?: readonly PeerName[];
  /** At most this many intermediates (self-issued ones not counted), as x509-limbo's max_chain_depth. */
  readonly maxChainDepth?: number;
  /** CRLs to consult; a certificate whose issuer has no CRL here is not checked for revocation. */
  readonly crls?: readonly CertificateRevocationList[];
  /**
   * Every certificate below the anchor must be covered by a current CRL from its issuer
   * (RFC 5280 §6.3 without a fallback); otherwise a certificate without a CRL is not checked.
   */
  readonly requireRevocationInfo?: boolean;
  /**
   * Whether a CRL may be signed by a CRL-signing certificate outside the path (same issuer
   * name, keyUsage cRLSign, itself validated to the same anchors with these options);
   * default true. The signer's own validation runs with it off, so the search cannot recurse.
   */
  readonly searchCrlSigners?: boolean;
  /** Certificate-policy inputs (RFC 5280 §6.1.1); by default any policy, none required. */
  readonly policy?: PolicyParameters;
}

export interface PeerName {
  readonly kind: 'DNS' | 'IP' | 'RFC822';
  readonly value: string;
}

export type PathFailureCode = Extract<
  PkiErrorCode,
  | 'CERT_EXPIRED'
  | 'CERT_NOT_YET_VALID'
  | 'NOT_A_CA'
  | 'ISSUER_KEY_USAGE'
  | 'PATH_LEN_EXCEEDED'
  | 'CHAIN_TOO_LONG'
  | 'UNKNOWN_CRITICAL_EXTENSION'
  | 'EKU_CLIENT_AUTH_MISSING'
  | 'EKU_NOT_ALLOWED'
  | 'NAME_CONSTRAINT_VIOLATION'
  | 'PEER_NAME_MISMATCH'
  | 'CERT_REVOKED'
  | 'CRL_INVALID'
  | 'WEAK_KEY'
  | 'CERT_PROFILE_VIOLATION'
  | 'POLICY_VIOLATION'
  | 'VALIDATION_BUDGET_EXHAUSTED'
>;

/** The facts of a path failure but its place in the path, which the path builder adds. */
export type PathFacts<C extends PathFailureCode> = Omit<PkiErrorContext<C>, 'certIndex'>;

/** One path's failure: a code, the certificate it concerns, and the code's facts. */
export type PathFailure = {
  readonly [C in PathFailureCode]: {
    readonly code: C;
    readonly certificate: Certificate;
    readonly message: string;
    readonly facts: PathFacts<C>;
  };
}[PathFailureCode];

/** How refusal messages name a certificate. */
export function describeCertificate(cert: Certificate): string {
  return formatNameForDisplay(cert.subject) || '(empty subject)';
}
const describe = describeCertificate;
function failure<C extends PathFailureCode>(code: C, certificate: Certificate, message: string, ...[facts]: [object] extends [PathFacts<C>] ? [facts?: PathFacts<C>] : [facts: PathFacts<C>]): PathFailure {
  return { code, certificate, message, facts: facts ?? {} } as PathFailure;
}

function critical(cert: Certificate, oid: string): boolean | undefined {
  return cert.extensions.find((e) => e.oid === oid)?.critical;
}


/** RFC 5280 §4.1.2.2: positive, at most 20 octets. */
function badSerial(cert: Certificate): string | undefined {
  const s = cert.serialNumber;
  if (((s[0] as number) & 0x80) !== 0) return 'negative serial number';
  if (s.every((b) => b === 0)) return 'zero serial number';
  if (s.length > 20 && !(s.length === 21 && s[0] === 0)) return 'serial number longer than 20 octets';
  return undefined;
}

/** The leaf's own checks: purpose, peer names, profile. */
function checkLeaf(leaf: Certificate, options: ValidationOptions): PathFailure | undefined {
  const server = options.purpose === 'server';
  const wanted = [...(options.purpose === 'client' ? [Oid.clientAuth] : server ? [Oid.serverAuth] : []), ...(options.extendedKeyUsage ?? [])];
  for (const oid of wanted) {
    if (!extendedKeyUsageAllows(leaf, oid)) {
      const message = `${describe(leaf)}: extended key usage does not allow ${oidName(oid)}`;
      return oid === Oid.clientAuth ? failure('EKU_CLIENT_AUTH_MISSING', leaf, message) : failure('EKU_NOT_ALLOWED', leaf, message, { oid });
    }
  }
  // A TLS peer signs the handshake (or, for RSA servers, decrypts the key exchange): a leaf
  // whose keyUsage allows neither cannot authenticate, whatever its EKU says.
  if (options.purpose !== undefined && leaf.keyUsage) {
    const usable = options.purpose === 'client' ? ['digitalSignature', 'keyAgreement'] : ['digitalSignature', 'keyEncipherment', 'keyAgreement'];
    if (!leaf.keyUsage.some((u) => usable.includes(u))) {
      return failure('CERT_PROFILE_VIOLATION', leaf, `${describe(leaf)}: keyUsage allows none of ${usable.join(', ')}`);
    }
  }
  if (leaf.basicConstraints?.ca !== true && leaf.keyUsage?.includes('keyCertSign')) {
    return failure('CERT_PROFILE_VIOLATION', leaf, `${describe(leaf)}: keyCertSign without basicConstraints cA (RFC 5280 §4.2.1.3)`);
  }
  if (critical(leaf, Oid.nameConstraints) !== undefined) {
    return failure('CERT_PROFILE_VIOLATION', leaf, `${describe(leaf)}: name constraints in an end-entity certificate (RFC 5280 §4.2.1.10)`);
  }
  const sanCritical = critical(leaf, Oid.subjectAltName);
  if (leaf.subject.rdns.length === 0 && sanCritical === false) {
    return failure('CERT_PROFILE_VIOLATION', leaf, 'an empty subject needs a critical subjectAltName (RFC 5280 §4.2.1.6)');
  }
  if (server) {
    if (leaf.version !== 3) return failure('CERT_PROFILE_VIOLATION', leaf, `${describe(leaf)}: a server certificate must be v3`);
    if (leaf.basicConstraints?.ca === true) return failure('CERT_PROFILE_VIOLATION', leaf, `${describe(leaf)}: a CA certificate is not a server certificate`);
    if (!leaf.subjectAltNames) return failure('PEER_NAME_MISMATCH', leaf, `${describe(leaf)} has no subjectAltName (names are not taken from the CN)`);
    if (sanCritical === true && leaf.subject.rdns.length > 0) {
      return failure('CERT_PROFILE_VIOLATION', leaf, 'subjectAltName is critical although the subject is not empty');
    }
    for (const san of leaf.subjectAltNames) {
      if (san.type === 'dns' && !normalizeDnsName(san.value, true)) return failure('CERT_PROFILE_VIOLATION', leaf, `malformed dNSName "${san.value}"`);
    }
  }
  for (const peer of options.peerNames ?? []) {
    if (!matchesPeerName(leaf, peer)) return failure('PEER_NAME_MISMATCH', leaf, `${describe(leaf)} is not valid for ${peer.kind} ${peer.value}`);
  }
  return undefined;
}

/** RFC 6125 §6: DNS names against dNSName SANs (wildcards as the whole leftmost label), IPs by octets. */
export function matchesPeerName(cert: Certificate, peer: PeerName): boolean {
  const sans = cert.subjectAltNames ?? [];
  if (peer.kind === 'IP') {
    const ip = parseIpAddress(peer.value);
    return ip !== undefined && sans.some((s) => s.type === 'ip' && s.bytes.equals(ip));
  }
  if (peer.kind === 'RFC822') return sans.some((s) => s.type === 'email' && s.value.toLowerCase() === peer.value.toLowerCase());
  const host = normalizeDnsName(peer.value, false);
  if (!host) return false;
  return sans.some((s) => {
    if (s.type !== 'dns') return false;
    const pattern = normalizeDnsName(s.value, true);
    return pattern !== undefined && dnsNameMatches(pattern, host);
  });
}

/** Every CA in the path, the trust anchor included: RFC 5280 §6.1.4 plus the web-PKI profile for servers. */
function checkIssuer(ca: Certificate, isAnchor: boolean, options: ValidationOptions): PathFailure | undefined {
  const bc = ca.basicConstraints;
  if (bc?.ca !== true) return failure('NOT_A_CA', ca, `${describe(ca)} issued a certificate but is not a CA`);
  // RFC 5280 §4.2.1.9 asks CAs to mark it critical; only the web-PKI profile refuses otherwise (NIST PKITS 4.6.4 accepts).
  if (options.purpose === 'server' && critical(ca, Oid.basicConstraints) !== true) {
    return failure('CERT_PROFILE_VIOLATION', ca, `${describe(ca)}: basicConstraints of a CA must be critical`);
  }
  if (ca.keyUsage && !ca.keyUsage.includes('keyCertSign')) return failure('ISSUER_KEY_USAGE', ca, `${describe(ca)} is not allowed to sign certificates (keyUsage)`);
  if (ca.subject.rdns.length === 0) return failure('CERT_PROFILE_VIOLATION', ca, 'a CA with an empty subject (RFC 5280 §4.1.2.6)');
  // RFC 5280 §4.2.1.11: policyConstraints is critical (x509-limbo pc::ica-noncritical-pc).
  if (options.purpose === 'server' && critical(ca, Oid.policyConstraints) === false) {
    return failure('CERT_PROFILE_VIOLATION', ca, `${describe(ca)}: policyConstraints must be critical`);
  }
  const nc = critical(ca, Oid.nameConstraints);
  if (nc === false) return failure('CERT_PROFILE_VIOLATION', ca, `${describe(ca)}: nameConstraints must be critical (RFC 5280 §4.2.1.10)`);
  if (options.purpose === 'server') {
    if (!ca.subjectKeyIdentifier) return failure('CERT_PROFILE_VIOLATION', ca, `${describe(ca)}: a CA needs a subjectKeyIdentifier (RFC 5280 §4.2.1.2)`);
    if (isAnchor && isSelfIssued(ca) && ca.authorityKeyIdentifier) {
      const aki = ca.authorityKeyIdentifier;
      if (!aki.keyIdentifier || aki.serialNumber || aki.hasAuthorityCertIssuer || !aki.keyIdentifier.equals(ca.subjectKeyIdentifier)) {
        return failure('CERT_PROFILE_VIOLATION', ca, `${describe(ca)}: a root's authorityKeyIdentifier must be its keyIdentifier alone`);
      }
    }
  }
  return undefined;
}

/** Checks every certificate of a path needs, whatever its place. */
function checkAny(cert: Certificate, isAnchor: boolean, time: Date, options: ValidationOptions): PathFailure | undefined {
  // Validity has whole seconds; the time is compared at that granularity (x509-limbo's
  // notafter-fractional: the encoded second covers its whole millisecond range).
  const at = Math.floor(time.getTime() / 1000) * 1000;
  if (at < cert.notBefore.getTime()) {
    return failure('CERT_NOT_YET_VALID', cert, `${describe(cert)} is not valid before ${cert.notBefore.toISOString()}`, {
      notBefore: cert.notBefore.toISOString(),
      at: time.toISOString(),
    });
  }
  if (at > cert.notAfter.getTime()) {
    return failure('CERT_EXPIRED', cert, `${describe(cert)} expired at ${cert.notAfter.toISOString()}`, { notAfter: cert.notAfter.toISOString(), at: time.toISOString() });
  }
  const unknown = cert.extensions.find((e) => e.critical && !UNDERSTOOD_EXTENSIONS.has(e.oid));
  if (unknown) return failure('UNKNOWN_CRITICAL_EXTENSION', cert, `${describe(cert)} has an unknown critical extension ${unknown.oid}`, { oid: unknown.oid });
  if (critical(cert, Oid.authorityKeyIdentifier) === true || critical(cert, Oid.subjectKeyIdentifier) === true) {
    return failure('CERT_PROFILE_VIOLATION', cert, `${describe(cert)}: key identifier extensions must not be critical (RFC 5280 §4.2.1.1-2)`);
  }
  if (cert.issuer.rdns.length === 0) return failure('CERT_PROFILE_VIOLATION', cert, `${describe(cert)}: empty issuer name (RFC 5280 §4.1.2.4)`);
  const weak = weakKeyReason(cert.publicKey.algorithm);
  if (weak) return failure('WEAK_KEY', cert, `${describe(cert)}: ${weak}`, { reason: weak });
  // A trust anchor is a name and a key (RFC 5280 §6.1.1 (d)); its serial is the CA's business.
  const serial = isAnchor ? undefined : badSerial(cert);
  if (serial) return failure('CERT_PROFILE_VIOLATION', cert, `${describe(cert)}: ${serial}`);
  if (options.purpose === 'server') {
    // A trust anchor is taken as given; every other certificate names its issuer's key.
    if (!isAnchor && !isSelfIssued(cert) && !cert.authorityKeyIdentifier?.keyIdentifier) {
      return failure('CERT_PROFILE_VIOLATION', cert, `${describe(cert)}: authorityKeyIdentifier is required (RFC 5280 §4.2.1.1)`);
    }
    const aia = cert.extensions.find((e) => e.oid === Oid.authorityInfoAccess);
    if (aia && !isAnchor) {
      try {
        decodeAuthorityInfoAccess(aia.value);
      } catch (err) {
        return failure('CERT_PROFILE_VIOLATION', cert, `${describe(cert)}: ${(err as Error).message}`);
      }
    }
  }
  return undefined;
}

/**
 * RFC 5280 §6.3 with the CRLs the caller supplied: the CRL of the certificate's issuer,
 * verified and current. The CRL may be signed by any key of the issuer that this very path
 * vouches for (a CA's old and new keys across a self-issued rollover, §6.3.3 (f)).
 */
/** CRLReason values with a meaning of their own (RFC 5280 §5.3.1); removeFromCRL is only meaningful in delta CRLs. */
const REMOVE_FROM_CRL = 8;
const CERTIFICATE_HOLD = 6;
const entryReason = crlEntryReasonOf;

/** Validated CRL-signing certificates outside the path for an issuer name (see ValidationOptions.searchCrlSigners). */
export type CrlSignerLookup = (issuerName: DistinguishedName) => readonly Certificate[];

/**
 * What one verification learns as it checks its paths, held by the path builder and handed to
 * each path's checks: the name-constraint budget, the caller's signature cache (CRL signatures
 * too), and an entry index per CRL consulted.
 */
export interface PathCheckMemo {
  readonly budget: ConstraintBudget;
  readonly signatures: SignatureCache | undefined;
  readonly crlIndexes: Map<CertificateRevocationList, CrlEntryIndex>;
}

function crlVerifiedBy(crl: CertificateRevocationList, candidate: Certificate, memo: PathCheckMemo): boolean {
  if (memo.signatures?.hasCrl(crl, candidate)) return true;
  let ok = false;
  try {
    ok = verifySignature(crl.tbsDer, crl.signature, crl.signatureAlgorithm, candidate.publicKey);
  } catch {
    ok = false;
  }
  if (ok) memo.signatures?.addCrl(crl, candidate);
  return ok;
}

function entriesFor(crl: CertificateRevocationList, cert: Certificate, memo: PathCheckMemo): RevokedCertificate[] {
  let index = memo.crlIndexes.get(crl);
  if (!index) {
    index = new CrlEntryIndex(crl);
    memo.crlIndexes.set(crl, index);
  }
  return index.entriesFor(cert);
}

/** CERT_REVOKED with the listing's facts: the serial, and the entry's date and reason when the CRL says them. */
function revokedFailure(cert: Certificate, issuer: Certificate, entries: readonly RevokedCertificate[], where: string): PathFailure {
  const entry = entries[0];
  const reasonValue = entry ? entryReason(entry) : undefined;
  const reason = reasonValue === undefined ? undefined : crlReasonName(reasonValue);
  return failure('CERT_REVOKED', cert, `${describe(cert)} is revoked by ${describe(issuer)}${where}${reason ? ` (${reason})` : ''}`, {
    serialNumber: cert.serialNumber.toString('hex'),
    ...(entry ? { revocationDate: entry.revocationDate.toISOString() } : {}),
    ...(reason ? { reason } : {}),
  });
}

function checkRevocation(
  cert: Certificate,
  issuer: Certificate,
  path: readonly Certificate[],
  crls: readonly CertificateRevocationList[],
  time: Date,
  required: boolean,
  externalSigners: CrlSignerLookup | undefined,
  memo: PathCheckMemo,
): PathFailure | undefined {
  let reasons = 0;
  // Why a CRL offered for this issuer could not be used: then the status is unknown, and
  // unknown is a refusal (fail closed), not a silent pass.
  let unusable: string | undefined;
  const pathSigners = [issuer, ...path.filter((c) => c !== issuer && c.basicConstraints?.ca === true && namesMatch(c.subject, cert.issuer))];
  let outside: readonly Certificate[] | undefined;
  // Verified, current CRLs of this issuer that speak for this certificate, complete and delta apart.
  const complete: { crl: CertificateRevocationList; number: bigint; reasons: number }[] = [];
  const deltas: { crl: CertificateRevocationList; number: bigint; base: bigint }[] = [];
  for (const crl of crls) {
    const direct = namesMatch(crl.issuer, cert.issuer);
    // An indirect CRL (another issuer, named as cRLIssuer by the certificate) is considered only
    // when its scope covers the certificate, before any signature work.
    if (!direct) {
      try {
        if (!crlScope(cert, crl).applies) continue;
      } catch {
        continue;
      }
    }
    const verifies = (candidate: Certificate): boolean => crlVerifiedBy(crl, candidate, memo);
    let signer = direct ? pathSigners.find(verifies) : path.find((c) => namesMatch(c.subject, crl.issuer) && verifies(c));
    if (!signer && externalSigners) {
      if (direct) {
        outside ??= externalSigners(cert.issuer);
        signer = outside.find(verifies);
      } else signer = externalSigners(crl.issuer).find(verifies);
    }
    if (!signer && !direct) continue;
    if (!signer) {
      unusable = `a CRL of ${describe(issuer)} could not be verified`;
      continue;
    }
    if (signer.keyUsage && !signer.keyUsage.includes('cRLSign')) return failure('CRL_INVALID', cert, `${describe(signer)} may not sign CRLs (keyUsage)`);
    const numberExtension = crl.extensions.find((e) => e.oid === Oid.crlNumber);
    if (!numberExtension) return failure('CRL_INVALID', cert, `the CRL of ${describe(issuer)} has no cRLNumber (RFC 5280 §5.2.3)`);
    if (numberExtension.critical) return failure('CRL_INVALID', cert, `the CRL of ${describe(issuer)} marks cRLNumber critical (RFC 5280 §5.2.3)`);
    const unknown = crl.extensions.find((e) => e.critical && e.oid !== Oid.crlNumber && e.oid !== Oid.issuingDistributionPoint && e.oid !== Oid.deltaCrlIndicator);
    if (unknown) return failure('CRL_INVALID', cert, `the CRL of ${describe(issuer)} has an unknown critical extension ${unknown.oid}`);
    let scope;
    let number: bigint | undefined;
    let base: bigint | undefined;
    try {
      scope = crlScope(cert, crl);
      number = crlNumberOf(crl);
      base = deltaCrlBaseOf(crl);
    } catch (err) {
      return failure('CRL_INVALID', cert, `the CRL of ${describe(issuer)}: ${(err as Error).message}`);
    }
    if (!scope.applies || number === undefined) continue;
    // RFC 5280 §5.1.2.5: conforming CRLs carry nextUpdate; one that is missing, passed, or a
    // thisUpdate still ahead leaves the status unknown. An authentic listing still stands:
    // revocation is permanent (a hold is released only by a current CRL).
    const current = crl.thisUpdate.getTime() <= time.getTime() && crl.nextUpdate !== undefined && crl.nextUpdate.getTime() >= time.getTime();
    if (!current) {
      if (base === undefined && entriesFor(crl, cert, memo).some((r) => entryReason(r) !== CERTIFICATE_HOLD && entryReason(r) !== REMOVE_FROM_CRL)) {
        return revokedFailure(cert, issuer, entriesFor(crl, cert, memo), ' (in a CRL that is not current)');
      }
      unusable = `the CRL of ${describe(issuer)} is not current (thisUpdate ${crl.thisUpdate.toISOString()}, nextUpdate ${crl.nextUpdate?.toISOString() ?? 'absent'})`;
      continue;
    }
    if (base !== undefined) deltas.push({ crl, number, base });
    else complete.push({ crl, number, reasons: scope.reasons });
  }
  for (const { crl, number, reasons: covered } of complete) {
    reasons |= covered;
    // RFC 5280 §5.2.4: a delta applies to a complete CRL numbered at least its base, and is newer.
    const applicable = deltas.filter((d) => d.base <= number && d.number > number);
    const onDelta = applicable.flatMap((d) => entriesFor(d.crl, cert, memo));
    const listedOnDelta = onDelta.filter((r) => entryReason(r) !== REMOVE_FROM_CRL);
    if (listedOnDelta.length > 0) return revokedFailure(cert, issuer, listedOnDelta, ' (delta CRL)');
    const removed = onDelta.some((r) => entryReason(r) === REMOVE_FROM_CRL);
    if (!removed && entriesFor(crl, cert, memo).length > 0) {
      return revokedFailure(cert, issuer, entriesFor(crl, cert, memo), '');
    }
  }
  if (reasons !== ALL_REASONS) {
    if (unusable) return failure('CRL_INVALID', cert, `${unusable}: the status of ${describe(cert)} is unknown`);
    // §6.3.3 (k): the CRLs together must cover every reason, or the status is undetermined.
    if (required) return failure('CRL_INVALID', cert, `no current CRL from ${describe(issuer)} covers ${describe(cert)} for every reason`);
  }
  return undefined;
}

/**
 * Stage 2: everything RFC 5280 §6.1 asks of one built path (leaf first, anchor last), with the
 * caller's purpose, peer names and CRLs. Pure: the time and every input are arguments.
 */
export function checkPath(
  path: readonly Certificate[],
  time: Date,
  options: ValidationOptions,
  memo: PathCheckMemo,
  externalSigners?: CrlSignerLookup,
): PathFailure | undefined {
  const leaf = path[0] as Certificate;
  for (const [i, cert] of path.entries()) {
    const found = checkAny(cert, i === path.length - 1, time, options);
    if (found) return found;
  }
  const leafFailure = checkLeaf(leaf, options);
  if (leafFailure) return leafFailure;
  let intermediatesBelow = 0;
  for (let i = 1; i < path.length; i++) {
    const ca = path[i] as Certificate;
    const caFailure = checkIssuer(ca, i === path.length - 1, options);
    if (caFailure) return caFailure;
    // RFC 5280 §4.2.1.9: pathLen counts the non-self-issued intermediates below this CA.
    const pathLen = ca.basicConstraints?.pathLen;
    if (pathLen !== undefined && intermediatesBelow > pathLen) {
      return failure('PATH_LEN_EXCEEDED', ca, `${describe(ca)} allows ${pathLen} intermediate CA(s) below it, found ${intermediatesBelow}`, { pathLen, intermediatesBelow });
    }
    if (ca.extKeyUsage && options.purpose !== undefined) {
      // EKU in a CA narrows what it may issue for (CA/B Forum; Go and Chrome enforce it).
      const purpose = options.purpose === 'client' ? Oid.clientAuth : Oid.serverAuth;
      if (!extendedKeyUsageAllows(ca, purpose)) {
        const message = `${describe(ca)}: extended key usage does not allow ${oidName(purpose)}`;
        return options.purpose === 'client' ? failure('EKU_CLIENT_AUTH_MISSING', ca, message) : failure('EKU_NOT_ALLOWED', ca, message, { oid: purpose });
      }
    }
    if (i < path.length - 1 && !isSelfIssued(ca)) intermediatesBelow++;
    if (critical(ca, Oid.nameConstraints) !== undefined) {
      const ncValue = ca.extensions.find((e) => e.oid === Oid.nameConstraints)?.value as Buffer;
      let constraints;
      try {
        constraints = decodeNameConstraints(ncValue);
      } catch (err) {
        return failure('NAME_CONSTRAINT_VIOLATION', ca, `${describe(ca)}: unusable name constraints: ${(err as Error).message}`);
      }
      // RFC 5280 §6.1.3 (b)-(c): every certificate below, except self-issued intermediates.
      for (let j = 0; j < i; j++) {
        const below = path[j] as Certificate;
        if (j > 0 && isSelfIssued(below)) continue;
        const names = constrainedNames(below);
        if (typeof names === 'string') return failure('NAME_CONSTRAINT_VIOLATION', below, `${describe(below)}: ${names}`);
        const violation = nameConstraintViolation(names, constraints, memo.budget);
        if (memo.budget.checks > MAX_NAME_CONSTRAINT_CHECKS) {
          return failure('VALIDATION_BUDGET_EXHAUSTED', below, `gave up after ${memo.budget.checks} name-constraint checks`, { signatureChecks: 0, pathsChecked: 0, nameConstraintChecks: memo.budget.checks });
        }
        if (violation) return failure('NAME_CONSTRAINT_VIOLATION', below, `${describe(below)}: ${violation} of ${describe(ca)}`);
      }
    }
  }
  let policy: string | undefined;
  try {
    policy = policyViolation(path, options.policy);
  } catch (err) {
    policy = `unreadable policy extension: ${(err as Error).message}`;
  }
  if (policy) return failure('POLICY_VIOLATION', leaf, policy);
  if (options.maxChainDepth !== undefined) {
    const intermediates = path.slice(1, -1).filter((c) => !isSelfIssued(c)).length;
    if (intermediates > options.maxChainDepth) {
      return failure('CHAIN_TOO_LONG', leaf, `${intermediates} intermediates, more than the ${options.maxChainDepth} allowed`, { maxDepth: options.maxChainDepth });
    }
  }
  if ((options.crls && options.crls.length > 0) || options.requireRevocationInfo) {
    for (let i = 0; i < path.length - 1; i++) {
      const revoked = checkRevocation(path[i] as Certificate, path[i + 1] as Certificate, path, options.crls ?? [], time, options.requireRevocationInfo === true, externalSigners, memo);
      if (revoked) return revoked;
    }
  }
  return undefined;
}
