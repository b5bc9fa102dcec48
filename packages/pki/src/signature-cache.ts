import type { Certificate } from './certificate.js';
import type { CertificateRevocationList } from './crl.js';

/** Verdicts kept per certificate: a few issuers each (an anchor re-uploaded, a key rolled over). */
const MAX_VERDICTS_PER_CERTIFICATE = 8;

/**
 * Signatures already checked, held by the caller (the server keeps one for its cached anchors
 * and intermediates; a one-off `fleetpki verify` needs none): copies of the exact bytes that were
 * verified (the child's DER, the issuer's SPKI), so a cached anchor or intermediate has its own
 * signature checked once, not on every validation of every device below it (bench/validate.mjs),
 * and an object changed after the check can never reuse the verdict. Entries live as long as
 * the parsed certificates they describe (a WeakMap keyed by them).
 */
export class SignatureCache {
  private readonly verified = new WeakMap<Certificate, { readonly childDer: Buffer; readonly issuerSpki: Buffer }[]>();
  /** CRLs the same way: the CRL's signed bytes and the signer's SPKI, per parsed CRL. */
  private readonly crlsVerified = new WeakMap<CertificateRevocationList, { readonly tbsDer: Buffer; readonly signerSpki: Buffer }[]>();

  hasCrl(crl: CertificateRevocationList, signer: Certificate): boolean {
    return this.crlsVerified.get(crl)?.some((v) => v.tbsDer.equals(crl.tbsDer) && v.signerSpki.equals(signer.publicKey.der)) ?? false;
  }

  addCrl(crl: CertificateRevocationList, signer: Certificate): void {
    const known = this.crlsVerified.get(crl) ?? [];
    this.crlsVerified.set(crl, [...known.slice(-(MAX_VERDICTS_PER_CERTIFICATE - 1)), { tbsDer: Buffer.from(crl.tbsDer), signerSpki: Buffer.from(signer.publicKey.der) }]);
  }

  has(child: Certificate, issuer: Certificate): boolean {
    return this.verified.get(child)?.some((v) => v.childDer.equals(child.der) && v.issuerSpki.equals(issuer.publicKey.der)) ?? false;
  }

  add(child: Certificate, issuer: Certificate): void {
    const known = this.verified.get(child) ?? [];
    this.verified.set(child, [...known.slice(-(MAX_VERDICTS_PER_CERTIFICATE - 1)), { childDer: Buffer.from(child.der), issuerSpki: Buffer.from(issuer.publicKey.der) }]);
  }
}
