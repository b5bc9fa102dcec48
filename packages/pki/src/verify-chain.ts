import type { SignatureCache } from './signature-cache.js';
import { type Certificate } from './certificate.js';
import { isPkiError, PkiError, type PkiErrorCode, type PkiErrorContext } from './errors.js';
import { namesMatch } from './name-matching.js';
import type { DistinguishedName } from './name.js';
import { checkPath, describeCertificate, type PathFailure, type PathFailureCode, type ValidationOptions } from './path-checks.js';
import { verifySignature } from './signature.js';

/**
 * Path validation as two stages, as in rustls-webpki and Go's crypto/x509: stage 1 builds
 * candidate paths depth-first (issuer by subject name bytes, AKI/SKI to order candidates, each
 * signature checked as the path grows); stage 2 (path-checks.ts) applies RFC 5280 §6.1 and the
 * caller's purpose to each complete path. The first path that passes wins; when none does,
 * the most specific reason is reported.
 */
export interface ChainVerificationInput {
  readonly leaf: Certificate;
  readonly anchors: readonly Certificate[];
  readonly intermediates: readonly Certificate[];
  /** The instant validity is judged at; required, as the core reads no clock. */
  readonly time: Date;
  readonly options?: ValidationOptions;
  /** Signatures checked before, kept by the caller across validations (none: every signature is checked). */
  readonly signatureCache?: SignatureCache | undefined;
}

export type ChainFailureCode = PathFailureCode | Extract<PkiErrorCode, 'UNKNOWN_ISSUER' | 'CERT_SIGNATURE_INVALID' | 'UNSUPPORTED_ALGORITHM'>;

/** The facts of a chain failure, always with the place in the path of the certificate it concerns. */
export type ChainFailureContext<C extends ChainFailureCode> = PkiErrorContext<C> & { readonly certIndex: number };

/** A chain that does not verify: its code, the certificate it concerns and the code's facts. */
export type ChainFailure = {
  readonly [C in ChainFailureCode]: {
    readonly ok: false;
    readonly code: C;
    /** The certificate the failure concerns. */
    readonly certificate: Certificate;
    readonly message: string;
    readonly context: ChainFailureContext<C>;
  };
}[ChainFailureCode];

export type ChainVerificationResult = { readonly ok: true; readonly path: readonly Certificate[] } | ChainFailure;

/** Longest path built, anchor included: deeper real PKIs do not exist. */
export const MAX_CHAIN_DEPTH = 8;
/** Signature checks one verification may spend: a hostile pool of look-alike issuers stops here. */
export const MAX_SIGNATURE_CHECKS = 64;
/** Complete paths checked in stage 2: each may run name constraints over many names. */
export const MAX_PATHS_CHECKED = 32;

type Failure = ChainFailure;

/** A stage-1 failure, whose only fact is where in the path it is. */
function fail(code: 'UNKNOWN_ISSUER' | 'CHAIN_TOO_LONG' | 'CERT_SIGNATURE_INVALID' | 'UNSUPPORTED_ALGORITHM' | 'NOT_A_CA', certificate: Certificate, message: string, certIndex: number, facts: { maxDepth?: number; oid?: string } = {}): Failure {
  const context = code === 'CHAIN_TOO_LONG' ? { certIndex, maxDepth: facts.maxDepth ?? MAX_CHAIN_DEPTH } : { certIndex, ...(facts.oid ? { oid: facts.oid } : {}) };
  return { ok: false, code, certificate, message, context } as Failure;
}

/** A stage-2 failure, placed in the path it was found on. */
function failAt(found: PathFailure, path: readonly Certificate[]): Failure {
  return { ok: false, code: found.code, certificate: found.certificate, message: found.message, context: { ...found.facts, certIndex: path.indexOf(found.certificate) } } as Failure;
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
  CERT_PROFILE_VIOLATION: 3,
  POLICY_VIOLATION: 4,
  WEAK_KEY: 3,
  UNKNOWN_CRITICAL_EXTENSION: 4,
  NAME_CONSTRAINT_VIOLATION: 4,
  CRL_INVALID: 4,
  EKU_CLIENT_AUTH_MISSING: 4,
  EKU_NOT_ALLOWED: 4,
  CERT_NOT_YET_VALID: 5,
  CERT_EXPIRED: 5,
  PEER_NAME_MISMATCH: 6,
  CERT_REVOKED: 6,
  // Never ranked: spending the budget ends the search at once (rustls-webpki's
  // MaximumSignatureChecksExceeded), so a flood of bad signatures cannot hide it.
  VALIDATION_BUDGET_EXHAUSTED: 7,
};

function signatureVerified(child: Certificate, issuer: Certificate, cache: SignatureCache | undefined): boolean {
  if (cache?.has(child, issuer)) return true;
  const ok = verifySignature(child.tbsDer, child.signature, child.signatureAlgorithm, issuer.publicKey);
  if (ok) cache?.add(child, issuer);
  return ok;
}

/** The same certificate offered twice is one candidate (a handshake may repeat its intermediates). */
function distinct(certs: readonly Certificate[]): Certificate[] {
  // Small pools (the usual case) compare directly; large ones go through a set of encodings.
  if (certs.length <= 16) return certs.filter((c, i) => !certs.slice(0, i).some((d) => d === c || d.der.equals(c.der)));
  const seen = new Set<string>();
  return certs.filter((c) => {
    const key = c.der.toString('base64');
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

const describe = describeCertificate;

/** Candidates whose SKI matches the child's AKI go first; a mismatch is tried last, not dropped. */
function keyIdRank(child: Certificate, candidate: Certificate): number {
  const aki = child.authorityKeyIdentifier?.keyIdentifier;
  const ski = candidate.subjectKeyIdentifier;
  if (!aki || !ski) return 1;
  return aki.equals(ski) ? 0 : 2;
}

export function verifyChain(input: ChainVerificationInput): ChainVerificationResult {
  const { leaf, time } = input;
  const anchors = distinct(input.anchors);
  const intermediates = distinct(input.intermediates);
  const options = input.options ?? {};
  // Every comparison with NaN is false: an Invalid Date would pass every validity check.
  if (!(time instanceof Date) || Number.isNaN(time.getTime())) {
    throw new PkiError('INVALID_ARGUMENT', 'the verification time is not a valid date');
  }
  let signatureChecks = 0;
  let pathsChecked = 0;
  const budget = { checks: 0 };
  const memo = { budget, signatures: input.signatureCache, crlIndexes: new Map() };
  let best: Failure = fail('UNKNOWN_ISSUER', leaf, `no trusted issuer found for ${describe(leaf)}`, 0);
  let exhausted: Failure | undefined;
  const exhaust = (certificate: Certificate, certIndex: number): void => {
    exhausted = {
      ok: false,
      code: 'VALIDATION_BUDGET_EXHAUSTED',
      certificate,
      message: `gave up after ${signatureChecks} signature checks, ${pathsChecked} paths and ${budget.checks} name-constraint checks`,
      context: { certIndex, signatureChecks, pathsChecked, nameConstraintChecks: budget.checks },
    };
  };
  const consider = (failure: Failure): void => {
    if (SPECIFICITY[failure.code] > SPECIFICITY[best.code]) best = failure;
  };
  // CRL signers outside the path, validated once each with the same anchors and CRLs but no
  // further signer search (so the lookup cannot recurse), and no purpose or peer names.
  const signerVerdicts = new Map<Certificate, boolean>();
  const externalSigners = (issuerName: DistinguishedName): Certificate[] =>
    [...anchors, ...intermediates].filter((candidate) => {
      if (!namesMatch(candidate.subject, issuerName) || !candidate.keyUsage?.includes('cRLSign')) return false;
      let verdict = signerVerdicts.get(candidate);
      if (verdict === undefined) {
        const result = verifyChain({
          leaf: candidate,
          anchors,
          intermediates,
          time,
          options: { crls: options.crls, requireRevocationInfo: options.requireRevocationInfo, searchCrlSigners: false },
          signatureCache: input.signatureCache,
        });
        verdict = result.ok;
        signerVerdicts.set(candidate, verdict);
      }
      return verdict;
    });
  const finish = (path: Certificate[]): boolean => {
    pathsChecked++;
    const failure = checkPath(path, time, options, memo, options.searchCrlSigners === false ? undefined : externalSigners);
    if (!failure) return true;
    if (failure.code === 'VALIDATION_BUDGET_EXHAUSTED') exhaust(failure.certificate, path.indexOf(failure.certificate));
    else consider(failAt(failure, path));
    return false;
  };

  if (anchors.some((a) => a.der.equals(leaf.der))) {
    // A CA given as trusted is valid on its own, as openssl's `verify -CAfile ca ca` says. An
    // end-entity certificate is no trust anchor (DESIGN §6: a leaf uploaded as a CA is refused):
    // it may still chain to a real one below, else this is the reason.
    if (leaf.basicConstraints?.ca === true && options.purpose !== 'server') {
      if (finish([leaf])) return { ok: true, path: [leaf] };
    } else {
      best = fail('NOT_A_CA', leaf, `${describe(leaf)} is given as a trust anchor but is not a CA`, 0);
    }
  }

  const extend = (path: Certificate[]): readonly Certificate[] | undefined => {
    const current = path[path.length - 1] as Certificate;
    const at = path.length - 1;
    if (path.length >= MAX_CHAIN_DEPTH) {
      consider(fail('CHAIN_TOO_LONG', current, `no trusted root within ${MAX_CHAIN_DEPTH} certificates`, at));
      return undefined;
    }
    const candidates: { cert: Certificate; anchor: boolean }[] = [
      ...anchors.map((cert) => ({ cert, anchor: true })),
      ...intermediates.map((cert) => ({ cert, anchor: false })),
    ]
      // Loop prevention compares CAs by subject and key too, so a re-issued copy of a CA already
      // in the path is no way out of a cycle (x509-limbo intermediate-cycle-same-logical-ca).
      .filter(({ cert }) => namesMatch(cert.subject, current.issuer) && !path.some((p, i) => p.der.equals(cert.der) || (i > 0 && p.subject.der.equals(cert.subject.der) && p.publicKey.der.equals(cert.publicKey.der))))
      .sort((a, b) => keyIdRank(current, a.cert) - keyIdRank(current, b.cert) || Number(b.anchor) - Number(a.anchor));
    for (const { cert, anchor } of candidates) {
      if (exhausted) return undefined;
      if (signatureChecks >= MAX_SIGNATURE_CHECKS || pathsChecked >= MAX_PATHS_CHECKED) {
        exhaust(current, at);
        return undefined;
      }
      signatureChecks++;
      let verified = false;
      try {
        verified = signatureVerified(current, cert, input.signatureCache);
      } catch (err) {
        if (!isPkiError(err)) throw err;
        consider(fail('UNSUPPORTED_ALGORITHM', current, `${describe(current)}: ${err.message}`, at, { oid: current.signatureAlgorithm.oid }));
        continue;
      }
      if (!verified) {
        consider(fail('CERT_SIGNATURE_INVALID', current, `the signature on ${describe(current)} does not verify with ${describe(cert)}'s key`, at));
        continue;
      }
      const candidatePath = [...path, cert];
      if (anchor) {
        if (finish(candidatePath)) return candidatePath;
        continue;
      }
      const found = extend(candidatePath);
      if (found) return found;
    }
    return undefined;
  };

  const path = extend([leaf]);
  return path ? { ok: true, path } : (exhausted ?? best);
}
