import type { KeyObject } from 'node:crypto';
import type { AlgorithmIdentifier } from './algorithm-identifier.js';
import { parseSignedObject } from './signed-object.js';
import { integerSmall, oidString, readerOver } from './der/reader.js';
import { Tag } from './der/tags.js';
import { bitStringOf, constructed, sequence, smallInteger } from './der/writer.js';
import { PkiError } from './errors.js';
import { parseExtensionList, type Extension } from './extensions.js';
import { importPublicKey, parseSubjectPublicKeyInfo, spkiDer, type PublicKeyInfo } from './public-key.js';
import { parseName, type DistinguishedName } from './name.js';
import { Oid } from './oids.js';
import { signatureAlgorithmName, verifySignature } from './signature.js';
import { keySigner, type Signer } from './signer.js';

/** A parsed PKCS#10 certification request (RFC 2986). */
export interface CertificationRequest {
  readonly der: Buffer;
  readonly infoDer: Buffer;
  readonly subject: DistinguishedName;
  readonly publicKey: PublicKeyInfo;
  readonly signatureAlgorithm: AlgorithmIdentifier;
  readonly signature: Buffer;
  /** Attribute OIDs present, for inspection. */
  readonly attributeTypes: readonly string[];
  /** Extensions asked for in an extensionRequest attribute (RFC 2985 §5.4.2). */
  readonly requestedExtensions: readonly Extension[];
}

/** Attributes beyond this count are refused: a hostile input bound. */
export const MAX_CSR_ATTRIBUTES = 32;

export function parseCsr(der: Buffer): CertificationRequest {
  const what = 'certification request';
  const { outer, tbs: infoEl, signatureAlgorithm, signature } = parseSignedObject(der, what, 'certificationRequestInfo');

  const info = readerOver(infoEl, 'certificationRequestInfo');
  const version = integerSmall(info.expect(Tag.INTEGER, 'version'), 'version');
  if (version !== 0) throw new PkiError('DER_MALFORMED', `${what}: unsupported version ${version}`, { what });
  const subject = parseName(info.read(), 'subject');
  const publicKey = parseSubjectPublicKeyInfo(info.expect(Tag.SEQUENCE, 'subjectPKInfo').encoded, 'subjectPKInfo');
  const attributesEl = info.expect(0xa0, 'attributes');
  info.expectEnd('attributes');

  const attributeTypes: string[] = [];
  let requestedExtensions: Extension[] = [];
  const attributes = readerOver(attributesEl, 'attributes');
  while (!attributes.atEnd()) {
    if (attributeTypes.length >= MAX_CSR_ATTRIBUTES) {
      throw new PkiError('DER_MALFORMED', `${what}: more than ${MAX_CSR_ATTRIBUTES} attributes`, { what });
    }
    const attribute = attributes.enter(Tag.SEQUENCE, 'attribute');
    const type = oidString(attribute.read(), 'attribute type');
    const values = attribute.expect(Tag.SET, 'attribute values');
    attribute.expectEnd('attribute values');
    attributeTypes.push(type);
    if (type === Oid.extensionRequest) {
      const set = readerOver(values, 'extensionRequest');
      const first = set.expect(Tag.SEQUENCE, 'extensionRequest value');
      set.expectEnd('extensionRequest value');
      if (first.contents.length > 0) requestedExtensions = parseExtensionList(first, what);
    }
  }
  return {
    der: outer.encoded,
    infoDer: infoEl.encoded,
    subject,
    publicKey,
    signatureAlgorithm,
    signature,
    attributeTypes,
    requestedExtensions,
  };
}

/** Proof that the requester holds the private key (RFC 2986 §3). */
export async function verifyCsrSignature(csr: CertificationRequest): Promise<boolean> {
  let key: KeyObject;
  try {
    key = await importPublicKey(csr.publicKey);
  } catch {
    return false;
  }
  return verifySignature(csr.infoDer, csr.signature, csr.signatureAlgorithm, csr.publicKey, { keyObject: key });
}

/**
 * The proof-of-possession stage of every CSR pipeline (the CLI's `cert sign`, the server's
 * issuance): CSR_SIGNATURE_INVALID when the signature does not verify, UNSUPPORTED_ALGORITHM when
 * it is made with an algorithm the core refuses (SHA-1, SHA-224, SHA-3 …).
 */
export async function assertCsrSignature(csr: CertificationRequest): Promise<void> {
  if (!(await verifyCsrSignature(csr))) {
    throw new PkiError('CSR_SIGNATURE_INVALID', 'the CSR’s signature does not verify: it was altered or not signed by its key');
  }
}

export function csrSignatureAlgorithmName(csr: CertificationRequest): string {
  return signatureAlgorithmName(csr.signatureAlgorithm);
}

/** Builds and signs a CSR with an empty attribute set, as `openssl req -new` does. */
export function createCsr(subject: DistinguishedName, privateKey: KeyObject): Buffer {
  return createCsrWithSigner(subject, spkiDer(privateKey), keySigner(privateKey));
}

/** The same for a key only a signer can use (a PKCS#11 token): its SubjectPublicKeyInfo is given. */
export function createCsrWithSigner(subject: DistinguishedName, subjectPublicKeyInfo: Buffer, signer: Signer): Buffer {
  const info = sequence([smallInteger(0), subject.der, subjectPublicKeyInfo, constructed(0xa0, [])]);
  return sequence([info, signer.algorithm.identifier, bitStringOf(signer.sign(info))]);
}
