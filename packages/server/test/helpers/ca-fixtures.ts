import { createPrivateKey, type KeyObject } from 'node:crypto';
import {
  createSelfSignedCa,
  encodePem,
  generateEncodedKeyPair,
  issueCertificate,
  parseCertificate,
  parseSubjectString,
  prepareIssuer,
  type Certificate,
} from '@fleetpki/pki';

const DAY_MS = 24 * 60 * 60 * 1000;

export interface TestCa {
  readonly certificate: Certificate;
  readonly key: KeyObject;
  readonly pem: string;
}

function newKey(): { key: KeyObject; publicKey: ReturnType<typeof generateEncodedKeyPair>['publicKey'] } {
  const pair = generateEncodedKeyPair({ kind: 'ec', curve: 'P-256' });
  return { key: createPrivateKey({ key: pair.privateKeyDer, format: 'der', type: 'sec1' }), publicKey: pair.publicKey };
}

function window(from: Date, days: number): { notBefore: Date; notAfter: Date } {
  const start = Math.floor(from.getTime() / 1000) * 1000;
  return { notBefore: new Date(start), notAfter: new Date(start + days * DAY_MS) };
}

/** A self-signed root made by our issuance pipeline; `from`/`days` place its validity anywhere. */
export function makeRoot(subject: string, options: { from?: Date; days?: number } = {}): TestCa {
  const { key } = newKey();
  const issued = createSelfSignedCa({ subject: parseSubjectString(subject), privateKey: key, validity: window(options.from ?? new Date(Date.now() - DAY_MS), options.days ?? 3650) });
  return { certificate: parseCertificate(issued.der), key, pem: encodePem('CERTIFICATE', issued.der) };
}

export function makeIntermediate(parent: TestCa, subject: string, options: { from?: Date; days?: number } = {}): TestCa {
  const { key, publicKey } = newKey();
  const validity = window(options.from ?? new Date(Date.now() - DAY_MS), options.days ?? 1000);
  const issued = issueCertificate(prepareIssuer(parent.certificate, parent.key), {
    subject: parseSubjectString(subject),
    publicKey,
    validity,
    profile: { kind: 'intermediate-ca' },
  });
  return { certificate: parseCertificate(issued.der), key, pem: encodePem('CERTIFICATE', issued.der) };
}

export interface TestDevice {
  readonly pem: string;
  readonly der: Buffer;
  /** The device's private key, SEC1 PEM, for real TLS clients. */
  readonly keyPem: string;
}

/** A device certificate `/O=<slug>/CN=<id>` (any subject with `subject`), valid from `from` for `days`. */
export function makeDevice(issuer: TestCa, slug: string, certificateId: string, options: { from?: Date; days?: number; subject?: string } = {}): TestDevice {
  const { key, publicKey } = newKey();
  const subject = parseSubjectString(options.subject ?? `/O=${slug}/CN=${certificateId}`);
  const validity = window(options.from ?? new Date(Date.now() - DAY_MS), options.days ?? 30);
  const issued = issueCertificate(prepareIssuer(issuer.certificate, issuer.key), { subject, publicKey, validity, profile: { kind: 'device' } });
  return { der: issued.der, pem: encodePem('CERTIFICATE', issued.der), keyPem: key.export({ type: 'sec1', format: 'pem' }).toString() };
}

export const base64 = (text: string | Buffer): string => Buffer.from(text).toString('base64');
