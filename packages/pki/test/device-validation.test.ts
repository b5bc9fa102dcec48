import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DAY_MS, makeDevice, makeForbiddenIntermediate, makeIntermediate, makeRoot, openssl, opensslCrl, T0, tempDir } from '@fleetpki/test-support';
import { loadCertificate, loadCrls, validateDeviceCertificate, type Certificate, type CertificateRevocationList, type PkiErrorCode } from '../src/index.js';

/**
 * validateDeviceCertificate (DESIGN §3), one row per failure code, with chains this test makes:
 * fleetpki issuance for the ordinary shapes, openssl for what fleetpki refuses to issue.
 */
const at = (ms: number): Date => new Date(T0.getTime() + ms);
const HOUR = 3_600_000;

const root = makeRoot('/CN=Acme Devices Root', { from: T0 });
const issuing = makeIntermediate(root, '/CN=Acme Issuing CA', { from: T0 });
const device = makeDevice(issuing, '/O=acme/CN=sensor-1', { from: T0 });
const otherRoot = makeRoot('/CN=Other Project Root', { from: T0 });
const otherDevice = makeDevice(otherRoot, '/O=other/CN=sensor-1', { from: T0 });
const shortLived = makeDevice(issuing, '/O=acme/CN=short', { from: T0, days: 1 });
const root0 = makeRoot('/CN=Root pathLen 0', { from: T0, pathLen: 0 });
const tooDeep = makeForbiddenIntermediate(root0, '/CN=Forbidden Intermediate', { from: T0 });
const deepDevice = makeDevice(tooDeep, '/O=acme/CN=deep-1', { from: T0 });

const tmp = tempDir('device-validation');
const viaOpenssl: Record<string, Certificate> = {};
let crls: CertificateRevocationList[] = [];
before(() => {
  tmp.write('root.crt.pem', root.pem);
  tmp.write('root.key.pem', root.key.export({ format: 'pem', type: 'pkcs8' }));
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'dev.key.pem'], tmp.dir);
  openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024', '-out', 'weak.key.pem'], tmp.dir);
  const sign = (name: string, key: string, subject: string, ext: string): void => {
    tmp.write(`${name}.ext`, ext);
    openssl(['req', '-new', '-key', key, '-subj', subject, '-out', `${name}.csr.pem`], tmp.dir);
    openssl(['x509', '-req', '-in', `${name}.csr.pem`, '-CA', 'root.crt.pem', '-CAkey', 'root.key.pem', '-CAcreateserial', '-days', '3650', '-extfile', `${name}.ext`, '-out', `${name}.crt.pem`], tmp.dir);
    viaOpenssl[name] = loadCertificate(tmp.read(`${name}.crt.pem`));
  };
  sign('server-eku', 'dev.key.pem', '/O=acme/CN=web-1', 'extendedKeyUsage=serverAuth\n');
  sign('weak', 'weak.key.pem', '/O=acme/CN=weak-1', 'extendedKeyUsage=clientAuth\n');
  sign('bad-id', 'dev.key.pem', '/O=acme/CN=has space', 'extendedKeyUsage=clientAuth\n');
  sign('revoked', 'dev.key.pem', '/O=acme/CN=lost-1', 'extendedKeyUsage=clientAuth\n');
  // A project CA whose name constraints admit only /O=acme/OU=fleet/... subjects.
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'nc.key.pem'], tmp.dir);
  tmp.write('nc.ext', 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nnameConstraints=critical,permitted;dirName:fleet_dn\n[fleet_dn]\nO=acme\nOU=fleet\n');
  openssl(['req', '-new', '-key', 'nc.key.pem', '-subj', '/CN=Constrained CA', '-out', 'nc.csr.pem'], tmp.dir);
  openssl(['x509', '-req', '-in', 'nc.csr.pem', '-CA', 'root.crt.pem', '-CAkey', 'root.key.pem', '-CAcreateserial', '-days', '3650', '-extfile', 'nc.ext', '-extensions', 'default', '-out', 'nc.crt.pem'], tmp.dir);
  viaOpenssl['nc'] = loadCertificate(tmp.read('nc.crt.pem'));
  openssl(['req', '-new', '-key', 'dev.key.pem', '-subj', '/O=acme/CN=outside-1', '-out', 'outside.csr.pem'], tmp.dir);
  openssl(['x509', '-req', '-in', 'outside.csr.pem', '-CA', 'nc.crt.pem', '-CAkey', 'nc.key.pem', '-CAcreateserial', '-days', '3650', '-out', 'outside.crt.pem'], tmp.dir);
  viaOpenssl['outside'] = loadCertificate(tmp.read('outside.crt.pem'));
  // A CRL from the root that revokes lost-1.
  crls = loadCrls(opensslCrl(tmp, { caCert: 'root.crt.pem', caKey: 'root.key.pem', revoke: ['revoked.crt.pem'], out: 'root.crl.pem', lifetime: { days: 3650 } }));
});
after(() => tmp.cleanup());

interface Row {
  readonly name: string;
  readonly chain: () => Certificate[];
  readonly project?: string;
  readonly anchors?: () => Certificate[];
  readonly time?: Date;
  /** Pass the project CA's CRL (issued now). */
  readonly withCrl?: boolean;
  readonly code: PkiErrorCode | 'OK';
}

const now = (): Date => new Date();
const ROWS: readonly Row[] = [
  { name: 'a device of the project, intermediate sent in the handshake', chain: () => [device.cert, issuing.cert], time: at(HOUR), code: 'OK' },
  { name: 'a device of the project, intermediate uploaded only', chain: () => [device.cert], anchors: () => [issuing.cert], time: at(HOUR), code: 'OK' },
  { name: 'O names another project', chain: () => [device.cert, issuing.cert], project: 'other', time: at(HOUR), code: 'SUBJECT_O_MISMATCH' },
  { name: "another project's CA does not admit it", chain: () => [otherDevice.cert], project: 'other', time: at(HOUR), code: 'UNKNOWN_ISSUER' },
  { name: 'a certificate ID outside the allowed alphabet', chain: () => [viaOpenssl['bad-id'] as Certificate], time: now(), code: 'INVALID_CERTIFICATE_ID' },
  { name: 'expired', chain: () => [shortLived.cert, issuing.cert], time: at(2 * DAY_MS), code: 'CERT_EXPIRED' },
  { name: 'not yet valid', chain: () => [device.cert, issuing.cert], time: at(-HOUR), code: 'CERT_NOT_YET_VALID' },
  { name: 'EKU serverAuth only', chain: () => [viaOpenssl['server-eku'] as Certificate], time: now(), code: 'EKU_CLIENT_AUTH_MISSING' },
  { name: 'an intermediate its root’s pathLen 0 forbids', chain: () => [deepDevice.cert, tooDeep.cert], anchors: () => [root0.cert], time: at(HOUR), code: 'PATH_LEN_EXCEEDED' },
  { name: 'outside the CA’s name constraints', chain: () => [viaOpenssl['outside'] as Certificate, viaOpenssl['nc'] as Certificate], time: now(), code: 'NAME_CONSTRAINT_VIOLATION' },
  { name: 'an RSA-1024 device key', chain: () => [viaOpenssl['weak'] as Certificate], time: now(), code: 'WEAK_KEY' },
  { name: 'a CA certificate with a device subject', chain: () => [makeIntermediate(root, '/O=acme/CN=rogue', { from: T0 }).cert], time: at(HOUR), code: 'DEVICE_CERT_IS_CA' },
  { name: 'revoked by the project CA’s CRL', chain: () => [viaOpenssl['revoked'] as Certificate], time: now(), withCrl: true, code: 'CERT_REVOKED' },
  { name: 'a device not on the current CRL', chain: () => [viaOpenssl['server-eku'] as Certificate], time: now(), withCrl: true, code: 'EKU_CLIENT_AUTH_MISSING' },
  // The CRL was issued today, so at T0 it is not yet current: status unknown, refused (fail closed).
  { name: 'a CRL that is not current at the validation time', chain: () => [device.cert, issuing.cert], time: at(HOUR), withCrl: true, code: 'CRL_INVALID' },
];

describe('validateDeviceCertificate', () => {
  for (const row of ROWS) {
    it(`${row.name} → ${row.code}`, () => {
      const anchors = row.anchors?.() ?? [root.cert];
      const result = validateDeviceCertificate(row.chain(), row.project ?? 'acme', anchors, [], row.time ?? now(), row.withCrl ? crls : []);
      if (row.code === 'OK') {
        assert.ok(result.ok, result.ok ? '' : `${result.code}: ${result.message}`);
        assert.equal(result.identity.projectSlug, 'acme');
        assert.equal(result.identity.certificateId, 'sensor-1');
      } else {
        assert.equal(result.ok ? 'OK' : result.code, row.code, result.ok ? '' : result.message);
      }
    });
  }
});
