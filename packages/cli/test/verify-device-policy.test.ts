import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openssl, tempDir } from '@fleetpki/test-support';
import { fleetpki, fleetpkiOk } from './helpers/cli.js';

interface VerifyJson {
  valid: boolean;
  code?: string;
  deviceIdentity?: { projectSlug: string; certificateId: string } | null;
}

/** `verify --project` applies all of DESIGN §3 to the leaf, not only its O and CN. */
describe('verify --project: the device rules', () => {
  const tmp = tempDir('verify-policy');
  const dir = tmp.dir;
  before(() => {
    fleetpkiOk(['key', 'create', '--out', 'ca.key.pem'], dir);
    fleetpkiOk(['ca', 'create', '--key', 'ca.key.pem', '--subject', '/CN=Policy Root', '--days', '30', '--out', 'ca.crt.pem'], dir);
    fleetpkiOk(['key', 'create', '--out', 'dev.key.pem'], dir);
    fleetpkiOk(['csr', 'create', '--key', 'dev.key.pem', '--project', 'acme', '--id', 'dev-1', '--out', 'dev.csr.pem'], dir);
    fleetpkiOk(['cert', 'sign', '--csr', 'dev.csr.pem', '--ca-cert', 'ca.crt.pem', '--ca-key', 'ca.key.pem', '--days', '7', '--out', 'dev.crt.pem'], dir);
    // A device-shaped subject on a server certificate, and on a CA certificate.
    writeFileSync(join(dir, 'server.ext'), 'extendedKeyUsage = serverAuth\nbasicConstraints = critical, CA:FALSE\n');
    openssl(['x509', '-req', '-in', 'dev.csr.pem', '-CA', 'ca.crt.pem', '-CAkey', 'ca.key.pem', '-CAcreateserial', '-days', '7', '-extfile', 'server.ext', '-out', 'server-eku.crt.pem'], dir);
    writeFileSync(join(dir, 'any.ext'), 'extendedKeyUsage = anyExtendedKeyUsage\n');
    openssl(['x509', '-req', '-in', 'dev.csr.pem', '-CA', 'ca.crt.pem', '-CAkey', 'ca.key.pem', '-CAcreateserial', '-days', '7', '-extfile', 'any.ext', '-out', 'any-eku.crt.pem'], dir);
    fleetpkiOk(['key', 'create', '--out', 'rogue.key.pem'], dir);
    fleetpkiOk(['ca', 'create', '--key', 'rogue.key.pem', '--subject', '/O=acme/CN=rogue', '--days', '7', '--issuer-cert', 'ca.crt.pem', '--issuer-key', 'ca.key.pem', '--out', 'rogue-ca.crt.pem'], dir);
  });
  after(() => tmp.cleanup());

  const cases = [
    { name: 'a device certificate passes', cert: 'dev.crt.pem', ca: 'ca.crt.pem', status: 0, code: undefined },
    { name: 'EKU anyExtendedKeyUsage allows client authentication', cert: 'any-eku.crt.pem', ca: 'ca.crt.pem', status: 0, code: undefined },
    { name: 'EKU serverAuth only', cert: 'server-eku.crt.pem', ca: 'ca.crt.pem', status: 4, code: 'EKU_CLIENT_AUTH_MISSING' },
    { name: 'a CA certificate with a device subject', cert: 'rogue-ca.crt.pem', ca: 'ca.crt.pem', status: 4, code: 'DEVICE_CERT_IS_CA' },
    { name: 'a device certificate given as its own trust anchor', cert: 'dev.crt.pem', ca: 'dev.crt.pem', status: 6, code: 'NOT_A_CA' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const result = fleetpki(['verify', '--ca', c.ca, '--project', 'acme', '--json', c.cert], { cwd: dir });
      assert.equal(result.status, c.status, result.stdout + result.stderr);
      const json = JSON.parse(result.stdout) as VerifyJson;
      assert.equal(json.valid, c.code === undefined);
      assert.equal(json.code, c.code);
      if (c.code === undefined) assert.deepEqual(json.deviceIdentity, { projectSlug: 'acme', certificateId: 'dev-1' });
    });
  }

  it('a CA given as trusted verifies on its own, as with openssl verify -CAfile ca ca', () => {
    const result = fleetpki(['verify', '--ca', 'ca.crt.pem', '--json', 'ca.crt.pem'], { cwd: dir });
    assert.equal(result.status, 0);
    assert.equal((JSON.parse(result.stdout) as VerifyJson).valid, true);
  });
});
