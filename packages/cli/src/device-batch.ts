import { join } from 'node:path';
import {
  deviceSubject,
  fingerprintSha256,
  generateEncodedKeyPair,
  issueDeviceCertificate,
  serialHex,
  type KeySpec,
  type PreparedIssuer,
  type Validity,
} from '@fleetpki/pki';
import { encodeCertificate, encodePrivateKeyDer } from './encode-output.js';
import { writeNewFile } from './file-io.js';
import type { OutputFormat } from './options.js';

/** One line of manifest.csv. */
export interface ManifestRow {
  readonly certificateId: string;
  readonly serial: string;
  readonly fingerprint: string;
  readonly notAfter: string;
  readonly keyFile: string;
  readonly certFile: string;
}

export interface DeviceBatch {
  readonly project: string;
  readonly certificateIds: readonly string[];
  readonly keySpec: KeySpec;
  readonly format: OutputFormat;
  readonly validity: Validity;
  /** A fresh directory only this batch writes to (files are created exclusively). */
  readonly directory: string;
}

export const MANIFEST_HEADER = 'certificate_id,serial,sha256_fingerprint,not_after,key_file,cert_file\n';

export function manifestLine(row: ManifestRow): string {
  return `${row.certificateId},${row.serial},${row.fingerprint},${row.notAfter},${row.keyFile},${row.certFile}\n`;
}

/**
 * Makes every device of a batch: a key, a certificate issued straight from the public key
 * (no CSR round trip: the factory holds both halves), both files, and the manifest rows.
 * `onProgress` is called with the number done so far.
 */
export function generateDevices(issuer: PreparedIssuer, batch: DeviceBatch, onProgress: (done: number) => void): ManifestRow[] {
  const rows: ManifestRow[] = [];
  const notAfter = batch.validity.notAfter.toISOString();
  for (const certificateId of batch.certificateIds) {
    const key = generateEncodedKeyPair(batch.keySpec);
    const issued = issueDeviceCertificate(issuer, deviceSubject(batch.project, certificateId), key.publicKey, batch.validity);
    const keyFile = `${certificateId}.key.${batch.format}`;
    const certFile = `${certificateId}.crt.${batch.format}`;
    writeNewFile(join(batch.directory, keyFile), encodePrivateKeyDer(key.privateKeyDer, key.privateKeyFormat, batch.format), 0o600);
    writeNewFile(join(batch.directory, certFile), encodeCertificate(issued.der, batch.format), 0o644);
    rows.push({ certificateId, serial: serialHex(issued), fingerprint: fingerprintSha256(issued.der), notAfter, keyFile, certFile });
    onProgress(rows.length);
  }
  return rows;
}
