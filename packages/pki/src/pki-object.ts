import { parseCertificate, type Certificate } from './certificate.js';
import { parseCrl, type CertificateRevocationList } from './crl.js';
import { parseCsr, type CertificationRequest } from './csr.js';
import { DerReader, readSingle } from './der/reader.js';
import { Tag } from './der/tags.js';
import { PkiError } from './errors.js';
import { privateKeyFromDer, sniffPrivateKeyFormat, type LoadedPrivateKey, type PrivateKeyFormat } from './private-key.js';
import { parseSubjectPublicKeyInfo, type PublicKeyInfo } from './public-key.js';
import { decodePem, looksLikePem, MAX_PEM_INPUT_BYTES } from './pem.js';

export type PkiObjectKind = 'certificate' | 'csr' | 'crl' | 'private-key' | 'public-key';

/** One object read from a file, with the DER it came from. */
export type PkiObject =
  | { readonly kind: 'certificate'; readonly der: Buffer; readonly certificate: Certificate }
  | { readonly kind: 'csr'; readonly der: Buffer; readonly csr: CertificationRequest }
  | { readonly kind: 'crl'; readonly der: Buffer; readonly crl: CertificateRevocationList }
  | { readonly kind: 'private-key'; readonly der: Buffer; readonly privateKey: LoadedPrivateKey }
  | { readonly kind: 'public-key'; readonly der: Buffer; readonly publicKey: PublicKeyInfo };

export interface DecodedInput {
  readonly encoding: 'pem' | 'der';
  readonly objects: readonly PkiObject[];
}

export const KIND_NAMES: Readonly<Record<PkiObjectKind, string>> = {
  certificate: 'a certificate',
  csr: 'a certificate signing request',
  crl: 'a CRL',
  'private-key': 'a private key',
  'public-key': 'a public key',
};

/** What a PEM label or a DER shape says an object is; private keys by their syntax. */
type EncodedKind = Exclude<PkiObjectKind, 'private-key'> | PrivateKeyFormat;

const PEM_KINDS: Readonly<Record<string, EncodedKind>> = {
  CERTIFICATE: 'certificate',
  'X509 CERTIFICATE': 'certificate',
  'CERTIFICATE REQUEST': 'csr',
  'NEW CERTIFICATE REQUEST': 'csr',
  'X509 CRL': 'crl',
  'PRIVATE KEY': 'pkcs8',
  'EC PRIVATE KEY': 'sec1',
  'RSA PRIVATE KEY': 'pkcs1',
  'PUBLIC KEY': 'public-key',
};

/** PEM blocks that carry no object of ours and are skipped, as openssl skips them. */
const IGNORED_PEM_LABELS = new Set(['EC PARAMETERS']);

/**
 * What a DER blob is, from its shape (RFC 5280 §4.1, §5.1; RFC 2986; RFC 5958/5915/8017).
 * Signed objects are SEQUENCE { tbs, AlgorithmIdentifier, BIT STRING } and told apart by the
 * tbs: a certificate's starts with [0] or has no top-level time, a CRL's has thisUpdate at top
 * level, a CSR's ends in [0] attributes after four fields.
 */
export function sniffDer(der: Buffer): EncodedKind | undefined {
  try {
    const outer = readSingle(der, 'input');
    if (outer.tag !== Tag.SEQUENCE) return undefined;
    const top = new DerReader(outer.contents, 'input');
    const first = top.read();
    if (first.tag === Tag.INTEGER) return sniffPrivateKeyFormat(der);
    if (first.tag !== Tag.SEQUENCE) return undefined;
    const second = top.read();
    if (second.tag === Tag.BIT_STRING && top.atEnd()) return 'public-key';
    if (second.tag !== Tag.SEQUENCE) return undefined;
    const tbs = new DerReader(first.contents, 'tbs');
    const tags: number[] = [];
    while (!tbs.atEnd() && tags.length < 16) tags.push(tbs.read().tag);
    if (tags[0] === 0xa0) return 'certificate';
    if (tags.includes(Tag.UTC_TIME) || tags.includes(Tag.GENERALIZED_TIME)) return 'crl';
    if (tags.length === 4 && tags[3] === 0xa0 && tags[0] === Tag.INTEGER) return 'csr';
    return 'certificate';
  } catch {
    return undefined;
  }
}

function parseAs(kind: EncodedKind, der: Buffer): PkiObject {
  switch (kind) {
    case 'certificate':
      return { kind, der, certificate: parseCertificate(der) };
    case 'csr':
      return { kind, der, csr: parseCsr(der) };
    case 'crl':
      return { kind, der, crl: parseCrl(der) };
    case 'public-key':
      return { kind, der, publicKey: parseSubjectPublicKeyInfo(der, 'public key') };
    case 'sec1':
    case 'pkcs8':
    case 'pkcs1':
      return { kind: 'private-key', der, privateKey: privateKeyFromDer(der, kind) };
  }
}

/** Reads every object in a PEM bundle or a single DER object. */
export function decodeObjects(input: Buffer): DecodedInput {
  if (input.length === 0) throw new PkiError('DER_MALFORMED', 'the input is empty');
  if (input.length > MAX_PEM_INPUT_BYTES) {
    throw new PkiError('INPUT_TOO_LARGE', `input is larger than ${MAX_PEM_INPUT_BYTES} bytes`, { size: input.length });
  }
  if (looksLikePem(input)) {
    const objects: PkiObject[] = [];
    for (const block of decodePem(input)) {
      if (IGNORED_PEM_LABELS.has(block.label)) continue;
      if (block.label === 'ENCRYPTED PRIVATE KEY') {
        throw new PkiError('KEY_ENCRYPTED', 'the private key is encrypted; decrypt it first (openssl pkey -in KEY -out PLAIN)');
      }
      const kind = PEM_KINDS[block.label];
      if (!kind) throw new PkiError('WRONG_OBJECT_TYPE', `unsupported PEM block "${block.label}"`, { label: block.label });
      objects.push(parseAs(kind, block.der));
    }
    if (objects.length === 0) throw new PkiError('PEM_NOT_FOUND', 'no certificate, CSR, CRL or key in the PEM input');
    return { encoding: 'pem', objects };
  }
  const kind = sniffDer(input);
  if (!kind) {
    // Give the strict reader's precise reason when the bytes are not even DER.
    readSingle(input, 'input');
    throw new PkiError('DER_MALFORMED', 'the input is neither PEM nor a DER certificate, CSR, CRL or key');
  }
  return { encoding: 'der', objects: [parseAs(kind, input)] };
}

function wrongType(expected: PkiObjectKind, found: PkiObjectKind): PkiError {
  return new PkiError('WRONG_OBJECT_TYPE', `expected ${KIND_NAMES[expected]}, found ${KIND_NAMES[found]}`, {
    expected,
    found,
  });
}

function only<K extends PkiObjectKind>(input: Buffer, kind: K): Extract<PkiObject, { kind: K }>[] {
  const { objects } = decodeObjects(input);
  for (const object of objects) if (object.kind !== kind) throw wrongType(kind, object.kind);
  return objects as Extract<PkiObject, { kind: K }>[];
}

function single<K extends PkiObjectKind>(input: Buffer, kind: K): Extract<PkiObject, { kind: K }> {
  const objects = only(input, kind);
  if (objects.length !== 1) {
    throw new PkiError('WRONG_OBJECT_TYPE', `expected one ${kind}, found ${objects.length}`, { count: objects.length });
  }
  return objects[0] as Extract<PkiObject, { kind: K }>;
}

export function loadCertificates(input: Buffer): Certificate[] {
  return only(input, 'certificate').map((o) => o.certificate);
}

export function loadCertificate(input: Buffer): Certificate {
  return single(input, 'certificate').certificate;
}

export function loadCsr(input: Buffer): CertificationRequest {
  return single(input, 'csr').csr;
}

export function loadCrls(input: Buffer): CertificateRevocationList[] {
  return only(input, 'crl').map((o) => o.crl);
}

export function loadPrivateKey(input: Buffer): LoadedPrivateKey {
  return single(input, 'private-key').privateKey;
}
