import { X509Certificate, createPublicKey, type KeyObject } from 'node:crypto';
import { linkSync, renameSync, rmSync } from 'node:fs';
import { createCsr, describeKey, deviceSubject, encodePem, generateKeyPair, loadPrivateKey, type KeySpec } from '@fleetpki/pki';
import { CliError } from '../cli-error.js';
import { readInput, writeOutput } from '../file-io.js';
import type { IdentityAnswer } from './device-gateway.js';
import { openDeviceGateway } from './open-device-gateway.js';

/** Where a device keeps its credentials, and how it reaches its gateway. */
export interface DeviceFiles {
  readonly certPath: string;
  readonly keyPath: string;
  readonly serverCaPath: string | undefined;
  readonly url: string;
}

export interface Renewal {
  readonly previous: { readonly fingerprintSha256: string; readonly notAfter: string };
  readonly renewed: IdentityAnswer;
}

/** The files as the gateway sees them now: who the device is, and its certificate's renewal window. */
export async function askIdentity(files: DeviceFiles): Promise<IdentityAnswer> {
  const gateway = await openDeviceGateway(files.url, credentialsOf(files, files.certPath, files.keyPath));
  try {
    return await gateway.identity();
  } finally {
    await gateway.close();
  }
}

function credentialsOf(files: DeviceFiles, certPath: string, keyPath: string) {
  return { certPem: readInput(certPath), keyPem: readInput(keyPath), serverCaPem: files.serverCaPath === undefined ? undefined : readInput(files.serverCaPath) };
}

/** The new key is of the old one's kind (a P-384 device stays P-384); other kinds get P-256. */
function keySpecLike(key: KeyObject): KeySpec {
  const algorithm = describeKey(key);
  if (algorithm.kind === 'ec' && (algorithm.curve === 'P-256' || algorithm.curve === 'P-384')) return { kind: 'ec', curve: algorithm.curve };
  if (algorithm.kind === 'rsa' && (algorithm.bits === 2048 || algorithm.bits === 3072 || algorithm.bits === 4096)) return { kind: 'rsa', bits: algorithm.bits };
  return { kind: 'ec', curve: 'P-256' };
}

/**
 * Rotates a device's key (issue 17, 5), the way a device should: a new key and CSR, posted to
 * `/v1/csr` over the device's own mutual TLS (or DTLS), the answer checked to certify the new
 * key, both written beside the old files, and the new pair authenticated at the gateway before
 * anything is replaced. Only then the old files are kept as `*.prev` and the new ones take their
 * names, each by an atomic rename. A failure at any step before leaves the old files as they were.
 */
export async function renewCertificate(files: DeviceFiles): Promise<Renewal> {
  const current = credentialsOf(files, files.certPath, files.keyPath);
  const oldKey = loadPrivateKey(current.keyPem).key;
  const gateway = await openDeviceGateway(files.url, current);
  let before: IdentityAnswer;
  let certificateDer: Buffer;
  const { privateKey } = generateKeyPair(keySpecLike(oldKey));
  try {
    before = await gateway.identity();
    if (before.certificateId === null) throw new CliError('USAGE', 'this device authenticated without a certificate (a pre-shared key): nothing to renew');
    // The gateway certifies whoever the connection authenticated, whatever the CSR says; it says the same.
    const csr = createCsr(deviceSubject(before.projectId, before.certificateId), privateKey);
    certificateDer = await gateway.rotate(csr);
  } finally {
    await gateway.close();
  }
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(certificateDer);
  } catch (error) {
    throw new CliError('IO_ERROR', `the gateway answered /v1/csr with something that is not a certificate: ${(error as Error).message}`);
  }
  if (!certificate.publicKey.equals(createPublicKey(privateKey))) throw new CliError('IO_ERROR', 'the certificate the gateway answered certifies another key: nothing was replaced');

  const nextCert = `${files.certPath}.next`;
  const nextKey = `${files.keyPath}.next`;
  writeOutput(nextKey, privateKey.export({ type: 'pkcs8', format: 'pem' }), { secret: true, force: true });
  writeOutput(nextCert, encodePem('CERTIFICATE', certificateDer), { force: true });
  let renewed: IdentityAnswer;
  try {
    const check = await openDeviceGateway(files.url, credentialsOf(files, nextCert, nextKey));
    try {
      renewed = await check.identity();
    } finally {
      await check.close();
    }
  } catch (error) {
    rmSync(nextCert, { force: true });
    rmSync(nextKey, { force: true });
    throw error;
  }
  // The old files stay under their names until the new ones replace them (a hard link keeps them
  // as *.prev), so neither name is ever missing.
  for (const path of [files.certPath, files.keyPath]) {
    rmSync(`${path}.prev`, { force: true });
    linkSync(path, `${path}.prev`);
  }
  renameSync(nextKey, files.keyPath);
  renameSync(nextCert, files.certPath);
  return { previous: { fingerprintSha256: before.certificate?.fingerprintSha256 ?? '', notAfter: before.certificate?.notAfter ?? '' }, renewed };
}
