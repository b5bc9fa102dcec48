import { isSelfIssued, type Certificate } from './certificate.js';
import { UNDERSTOOD_EXTENSIONS } from './extensions.js';
import { isPkiError, PkiError, type PkiErrorCode } from './errors.js';
import { formatNameForDisplay } from './name.js';
import { verifySignature } from './signature.js';

/**
 * First-version chain verification: signatures up to a trust anchor, validity, basic
 * constraints, pathLen, keyCertSign and unknown critical extensions. Path building and the
 * checks on a built path are separate stages, as in rustls-webpki and Go's crypto/x509; the
 * full RFC 5280 §6.1 engine (policies, name constraints, CRLs) replaces the second stage.
 */
export interface ChainVerificationInput {
  readonly leaf: Certificate;
  readonly anchors: readonly Certificate[];
  readonly intermediates: readonly Certificate[];
  /** The instant validity is judged at; required, as the core reads no clock. */
  readonly time: Date;
}

export type ChainFailureCode = Extract<
  PkiErrorCode,
  | 'UNKNOWN_ISSUER'
  | 'CERT_SIGNATURE_INVALID'
  | 'CERT_EXPIRED'
  | 'CERT_NOT_YET_VALID'
  | 'NOT_A_CA'
  | 'ISSUER_KEY_USAGE'
  | 'PATH_LEN_EXCEEDED'
  | 'CHAIN_TOO_LONG'
  | 'UNKNOWN_CRITICAL_EXTENSION'
  | 'UNSUPPORTED_ALGORITHM'
>;

export type ChainVerificationResult =
  | { readonly ok: true; readonly path: readonly Certificate[] }
  | {
      readonly ok: false;
      readonly code: ChainFailureCode;
      /** The certificate the failure concerns. */
      readonly certificate: Certificate;
      readonly message: string;
    };

/** Longest path built, anchor included: deeper real PKIs do not exist. */
export const MAX_CHAIN_DEPTH = 8;
/** Signature checks one verification may spend: a hostile pool of look-alike issuers stops here. */
export const MAX_SIGNATURE_CHECKS = 64;

type Failure = Extract<ChainVerificationResult, { ok: false }>;

function fail(code: ChainFailureCode, certificate: Certificate, message: string): Failure {
  return { ok: false, code, certificate, message };
}

// Rank of failures when every candidate path fails: the most specific reason wins.
const SPECIFICITY: Readonly<Record<ChainFailureCode, number>> = {
  UNKNOWN_ISSUER: 0,
  CHAIN_TOO_LONG: 1,
  CERT_SIGNATURE_INVALID: 2,
  UNSUPPORTED_ALGORITHM: 2,
  NOT_A_CA: 3,
  ISSUER_KEY_USAGE: 3,
  PATH_LEN_EXCEEDED: 3,
  UNKNOWN_CRITICAL_EXTENSION: 4,
  CERT_NOT_YET_VALID: 5,
  CERT_EXPIRED: 5,
};

function describe(cert: Certificate): string {
  return formatNameForDisplay(cert.subject) || '(empty subject)';
}

/** Stage 2: the checks on one candidate path, leaf first, anchor last. */
function checkPath(path: readonly Certificate[], time: Date): Failure | undefined {
  const at = time.getTime();
  for (const cert of path) {
    if (at < cert.notBefore.getTime()) {
      return fail('CERT_NOT_YET_VALID', cert, `${describe(cert)} is not valid before ${cert.notBefore.toISOString()}`);
    }
    if (at > cert.notAfter.getTime()) {
      return fail('CERT_EXPIRED', cert, `${describe(cert)} expired at ${cert.notAfter.toISOString()}`);
    }
    const unknown = cert.extensions.find((e) => e.critical && !UNDERSTOOD_EXTENSIONS.has(e.oid));
    if (unknown) {
      return fail('UNKNOWN_CRITICAL_EXTENSION', cert, `${describe(cert)} has an unknown critical extension ${unknown.oid}`);
    }
  }
  // RFC 5280 §6.1.4 (k), (l), (n): every issuer is a CA, within its pathLen, allowed keyCertSign.
  let intermediatesBelow = 0;
  for (let i = 1; i < path.length; i++) {
    const issuer = path[i] as Certificate;
    if (issuer.basicConstraints?.ca !== true) {
      return fail('NOT_A_CA', issuer, `${describe(issuer)} issued a certificate but is not a CA`);
    }
    if (issuer.keyUsage && !issuer.keyUsage.includes('keyCertSign')) {
      return fail('ISSUER_KEY_USAGE', issuer, `${describe(issuer)} is not allowed to sign certificates (keyUsage)`);
    }
    const pathLen = issuer.basicConstraints.pathLen;
    if (pathLen !== undefined && intermediatesBelow > pathLen) {
      return fail('PATH_LEN_EXCEEDED', issuer, `${describe(issuer)} allows ${pathLen} intermediate CA(s) below it, found ${intermediatesBelow}`);
    }
    if (!isSelfIssued(issuer)) intermediatesBelow++;
  }
  return undefined;
}

/** Stage 1 and 2 together: depth-first path building, each complete path checked in turn. */
export function verifyChain(input: ChainVerificationInput): ChainVerificationResult {
  const { leaf, anchors, intermediates, time } = input;
  // Every comparison with NaN is false: an Invalid Date would pass every validity check.
  if (!(time instanceof Date) || Number.isNaN(time.getTime())) {
    throw new PkiError('INVALID_ARGUMENT', 'the verification time is not a valid date');
  }
  let signatureChecks = 0;
  let best: Failure = fail('UNKNOWN_ISSUER', leaf, `no trusted issuer found for ${describe(leaf)}`);
  const consider = (failure: Failure): void => {
    if (SPECIFICITY[failure.code] > SPECIFICITY[best.code]) best = failure;
  };

  if (anchors.some((a) => a.der.equals(leaf.der))) {
    // A CA given as trusted is valid on its own, as openssl's `verify -CAfile ca ca` says. An
    // end-entity certificate is no trust anchor (DESIGN §6: a leaf uploaded as a CA is refused):
    // it may still chain to a real one below, else this is the reason.
    if (leaf.basicConstraints?.ca === true) {
      const failure = checkPath([leaf], time);
      return failure ?? { ok: true, path: [leaf] };
    }
    best = fail('NOT_A_CA', leaf, `${describe(leaf)} is given as a trust anchor but is not a CA`);
  }

  const extend = (path: Certificate[]): readonly Certificate[] | undefined => {
    const current = path[path.length - 1] as Certificate;
    if (path.length >= MAX_CHAIN_DEPTH) {
      consider(fail('CHAIN_TOO_LONG', current, `no trusted root within ${MAX_CHAIN_DEPTH} certificates`));
      return undefined;
    }
    const candidates: { cert: Certificate; anchor: boolean }[] = [
      ...anchors.map((cert) => ({ cert, anchor: true })),
      ...intermediates.map((cert) => ({ cert, anchor: false })),
    ].filter(({ cert }) => cert.subject.der.equals(current.issuer.der) && !path.some((p) => p.der.equals(cert.der)));
    for (const { cert, anchor } of candidates) {
      if (signatureChecks >= MAX_SIGNATURE_CHECKS) {
        consider(fail('CHAIN_TOO_LONG', current, `gave up after ${MAX_SIGNATURE_CHECKS} signature checks`));
        return undefined;
      }
      signatureChecks++;
      let verified = false;
      try {
        verified = verifySignature(current.tbsDer, current.signature, current.signatureAlgorithm, cert.publicKey);
      } catch (err) {
        if (!isPkiError(err)) throw err;
        consider(fail('UNSUPPORTED_ALGORITHM', current, `${describe(current)}: ${err.message}`));
        continue;
      }
      if (!verified) {
        consider(fail('CERT_SIGNATURE_INVALID', current, `the signature on ${describe(current)} does not verify with ${describe(cert)}'s key`));
        continue;
      }
      const candidatePath = [...path, cert];
      if (anchor) {
        const failure = checkPath(candidatePath, time);
        if (!failure) return candidatePath;
        consider(failure);
        continue;
      }
      const found = extend(candidatePath);
      if (found) return found;
    }
    return undefined;
  };

  const path = extend([leaf]);
  return path ? { ok: true, path } : best;
}
