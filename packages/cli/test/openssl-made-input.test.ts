import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openssl, tempDir } from '@fleetpki/test-support';
import { fleetpki, fleetpkiOk } from './helpers/cli.js';

/** Keys, CSRs and CAs made by the seed's exact openssl commands, fed to fleetpki. */
const KEY_TYPES = [
  { name: 'P-256', genkey: ['ecparam', '-name', 'prime256v1', '-genkey', '-noout'], algorithm: 'EC P-256', keyCmd: 'ec', toDer: ['ec'] },
  { name: 'P-384', genkey: ['ecparam', '-name', 'secp384r1', '-genkey', '-noout'], algorithm: 'EC P-384', keyCmd: 'ec', toDer: ['ec'] },
  { name: 'RSA-2048', genkey: ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'], algorithm: 'RSA 2048', keyCmd: 'pkey', toDer: ['pkcs8', '-topk8', '-nocrypt'] },
];

interface InspectJson {
  encoding: string;
  objects: { type: string; subject?: string; publicKeyAlgorithm: string; isCa?: boolean; signatureValid?: boolean; deviceIdentity?: { projectSlug: string; certificateId: string } | null; format?: string }[];
}

for (const keyType of KEY_TYPES) {
  describe(`openssl-made ${keyType.name} material in fleetpki`, () => {
    const tmp = tempDir(`openssl-${keyType.name}`);
    const dir = tmp.dir;
    before(() => {
      openssl([...keyType.genkey, '-out', 'ca.key.pem'], dir);
      openssl(['req', '-x509', '-new', '-nodes', '-key', 'ca.key.pem', '-sha256', '-subj', '/CN=Root CA', '-days', '10', '-out', 'ca.crt.pem'], dir);
      openssl([...keyType.genkey, '-out', 'device.key.pem'], dir);
      openssl(['req', '-new', '-key', 'device.key.pem', '-subj', '/O=acme/CN=CERT-ID_01', '-out', 'device.csr.pem'], dir);
      openssl(['x509', '-req', '-in', 'device.csr.pem', '-CA', 'ca.crt.pem', '-CAkey', 'ca.key.pem', '-CAcreateserial', '-out', 'openssl-device.crt.pem', '-days', '7', '-sha256'], dir);
    });
    after(() => tmp.cleanup());

    it('cert sign issues from the openssl CSR with the openssl CA, and openssl verifies it', () => {
      fleetpkiOk(['cert', 'sign', '--csr', 'device.csr.pem', '--ca-cert', 'ca.crt.pem', '--ca-key', 'ca.key.pem', '--days', '7', '--project', 'acme', '--out', 'device.crt.pem'], dir);
      assert.match(openssl(['verify', '-CAfile', 'ca.crt.pem', 'device.crt.pem'], dir).toString(), /OK/);
    });

    it('cert sign reads the CSR and keys in DER too', () => {
      openssl(['req', '-in', 'device.csr.pem', '-outform', 'DER', '-out', 'device.csr.der'], dir);
      openssl([keyType.keyCmd, '-in', 'ca.key.pem', '-outform', 'DER', '-out', 'ca.key.der'], dir);
      openssl(['x509', '-in', 'ca.crt.pem', '-outform', 'DER', '-out', 'ca.crt.der'], dir);
      fleetpkiOk(['cert', 'sign', '--csr', 'device.csr.der', '--ca-cert', 'ca.crt.der', '--ca-key', 'ca.key.der', '--days', '7', '--out', 'device2.crt.der'], dir);
      const pem = openssl(['x509', '-inform', 'DER', '-in', 'device2.crt.der'], dir);
      assert.match(openssl(['verify', '-CAfile', 'ca.crt.pem'], dir, pem).toString(), /OK/);
    });

    it('inspect reports the CA, the CSR and the key', () => {
      const ca = JSON.parse(fleetpkiOk(['inspect', '--json', 'ca.crt.pem'], dir).stdout) as InspectJson;
      assert.equal(ca.objects[0]?.type, 'certificate');
      assert.equal(ca.objects[0]?.subject, '/CN=Root CA');
      assert.equal(ca.objects[0]?.isCa, true);
      assert.equal(ca.objects[0]?.publicKeyAlgorithm, keyType.algorithm);
      const csr = JSON.parse(fleetpkiOk(['inspect', '--json', 'device.csr.pem'], dir).stdout) as InspectJson;
      assert.equal(csr.objects[0]?.type, 'csr');
      assert.equal(csr.objects[0]?.signatureValid, true);
      assert.deepEqual(csr.objects[0]?.deviceIdentity, { projectSlug: 'acme', certificateId: 'CERT-ID_01' });
      const key = JSON.parse(fleetpkiOk(['inspect', '--json', 'device.key.pem'], dir).stdout) as InspectJson;
      assert.equal(key.objects[0]?.type, 'private-key');
      assert.equal(key.objects[0]?.publicKeyAlgorithm, keyType.algorithm);
      assert.equal(key.objects[0]?.format, keyType.name === 'RSA-2048' ? 'pkcs8' : 'sec1');
    });

    it('convert turns the openssl PEM files into the same DER openssl makes, and back', () => {
      fleetpkiOk(['convert', 'device.key.pem', '--to', 'der', '--out', 'device.key.der'], dir);
      assert.deepEqual(readFileSync(join(dir, 'device.key.der')), openssl([...keyType.toDer, '-in', 'device.key.pem', '-outform', 'DER'], dir));
      fleetpkiOk(['convert', 'ca.crt.pem', '--to', 'der', '--out', 'ca2.crt.der'], dir);
      assert.deepEqual(readFileSync(join(dir, 'ca2.crt.der')), openssl(['x509', '-in', 'ca.crt.pem', '-outform', 'DER'], dir));
      fleetpkiOk(['convert', 'ca2.crt.der', '--to', 'pem', '--out', 'ca2.crt.pem'], dir);
      assert.equal(readFileSync(join(dir, 'ca2.crt.pem'), 'latin1'), readFileSync(join(dir, 'ca.crt.pem'), 'latin1'));
      fleetpkiOk(['convert', 'device.key.der', '--to', 'pem', '--out', 'device2.key.pem'], dir);
      assert.equal(readFileSync(join(dir, 'device2.key.pem'), 'latin1'), readFileSync(join(dir, 'device.key.pem'), 'latin1'));
    });

    it("the seed's literal placeholder subject is refused by the device policy and signed without it", () => {
      openssl(['req', '-new', '-key', 'device.key.pem', '-subj', '/O=PROJECT_SLUG/CN=CERTIFICATE_ID', '-out', 'placeholder.csr.pem'], dir);
      const refused = fleetpki(['cert', 'sign', '--csr', 'placeholder.csr.pem', '--ca-cert', 'ca.crt.pem', '--ca-key', 'ca.key.pem', '--days', '7', '--out', 'placeholder.crt.pem'], { cwd: dir });
      assert.equal(refused.status, 4);
      assert.match(refused.stderr, /^fleetpki: INVALID_PROJECT_SLUG:/);
      fleetpkiOk(['cert', 'sign', '--csr', 'placeholder.csr.pem', '--ca-cert', 'ca.crt.pem', '--ca-key', 'ca.key.pem', '--days', '7', '--no-device-policy', '--out', 'placeholder.crt.pem'], dir);
      assert.match(openssl(['verify', '-CAfile', 'ca.crt.pem', 'placeholder.crt.pem'], dir).toString(), /OK/);
      assert.match(openssl(['x509', '-in', 'placeholder.crt.pem', '-noout', '-subject'], dir).toString(), /subject=O = PROJECT_SLUG, CN = CERTIFICATE_ID/);
    });

    it('verify accepts the openssl-signed device certificate and applies the project rule', () => {
      const ok = fleetpki(['verify', '--ca', 'ca.crt.pem', '--project', 'acme', 'openssl-device.crt.pem'], { cwd: dir });
      assert.equal(ok.status, 0, ok.stdout + ok.stderr);
      const wrongProject = fleetpki(['verify', '--ca', 'ca.crt.pem', '--project', 'other', '--json', 'openssl-device.crt.pem'], { cwd: dir });
      assert.equal(wrongProject.status, 4);
      assert.equal((JSON.parse(wrongProject.stdout) as { code: string }).code, 'SUBJECT_O_MISMATCH');
    });
  });
}
