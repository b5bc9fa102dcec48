import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openssl, tempDir } from '@fleetpki/test-support';
import { errorCode, fleetpki, fleetpkiOk } from './helpers/cli.js';

/** verify --hostname, --purpose and --crl against certificates openssl made. */
describe('verify: server names, purposes and CRLs', () => {
  const tmp = tempDir('verify-options');
  const dir = tmp.dir;
  before(() => {
    fleetpkiOk(['key', 'create', '--out', 'ca.key.pem'], dir);
    fleetpkiOk(['ca', 'create', '--key', 'ca.key.pem', '--subject', '/CN=Options Root', '--days', '30', '--out', 'ca.crt.pem'], dir);
    openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'srv.key.pem'], dir);
    openssl(['req', '-new', '-key', 'srv.key.pem', '-subj', '/CN=api.example.com', '-out', 'srv.csr.pem'], dir);
    writeFileSync(
      join(dir, 'srv.ext'),
      'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:api.example.com,DNS:*.edge.example.com,IP:127.0.0.1\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n',
    );
    openssl(['x509', '-req', '-in', 'srv.csr.pem', '-CA', 'ca.crt.pem', '-CAkey', 'ca.key.pem', '-CAcreateserial', '-days', '7', '-extfile', 'srv.ext', '-out', 'srv.crt.pem'], dir);
    fleetpkiOk(['key', 'create', '--out', 'dev.key.pem'], dir);
    fleetpkiOk(['csr', 'create', '--key', 'dev.key.pem', '--project', 'acme', '--id', 'lost-1', '--out', 'dev.csr.pem'], dir);
    fleetpkiOk(['cert', 'sign', '--csr', 'dev.csr.pem', '--ca-cert', 'ca.crt.pem', '--ca-key', 'ca.key.pem', '--days', '7', '--out', 'dev.crt.pem'], dir);
    writeFileSync(join(dir, 'ca.cnf'), '[ca]\ndefault_ca=c\n[c]\ndatabase=index.txt\ncrlnumber=crlnumber.txt\ndefault_md=sha256\ndefault_crl_days=7\n');
    writeFileSync(join(dir, 'index.txt'), '');
    writeFileSync(join(dir, 'crlnumber.txt'), '01\n');
    openssl(['ca', '-config', 'ca.cnf', '-cert', 'ca.crt.pem', '-keyfile', 'ca.key.pem', '-revoke', 'dev.crt.pem'], dir);
    openssl(['ca', '-config', 'ca.cnf', '-cert', 'ca.crt.pem', '-keyfile', 'ca.key.pem', '-gencrl', '-out', 'ca.crl.pem'], dir);
  });
  after(() => tmp.cleanup());

  const cases = [
    { name: 'the DNS name in the SAN', args: ['--hostname', 'api.example.com', 'srv.crt.pem'], status: 0, code: undefined },
    { name: 'a name under the wildcard', args: ['--hostname', 'node7.edge.example.com', 'srv.crt.pem'], status: 0, code: undefined },
    { name: 'the IP address in the SAN', args: ['--hostname', '127.0.0.1', 'srv.crt.pem'], status: 0, code: undefined },
    { name: 'two labels below the wildcard', args: ['--hostname', 'a.b.edge.example.com', 'srv.crt.pem'], status: 6, code: 'PEER_NAME_MISMATCH' },
    { name: 'another host', args: ['--hostname', 'www.example.com', 'srv.crt.pem'], status: 6, code: 'PEER_NAME_MISMATCH' },
    { name: 'a server certificate used as a client', args: ['--purpose', 'client', 'srv.crt.pem'], status: 4, code: 'EKU_CLIENT_AUTH_MISSING' },
    { name: 'a device revoked by the CRL', args: ['--crl', 'ca.crl.pem', '--project', 'acme', 'dev.crt.pem'], status: 6, code: 'CERT_REVOKED' },
    { name: 'the same device without the CRL', args: ['--project', 'acme', 'dev.crt.pem'], status: 0, code: undefined },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const result = fleetpki(['verify', '--ca', 'ca.crt.pem', '--json', ...c.args], { cwd: dir });
      assert.equal(result.status, c.status, result.stdout + result.stderr);
      const json = JSON.parse(result.stdout) as { valid: boolean; code?: string };
      assert.equal(json.valid, c.code === undefined);
      assert.equal(json.code, c.code);
    });
  }

  it('an unknown --purpose is a usage error', () => {
    const result = fleetpki(['verify', '--ca', 'ca.crt.pem', '--purpose', 'email', 'srv.crt.pem'], { cwd: dir });
    assert.equal(result.status, 2);
    assert.equal(errorCode(result.stderr), 'USAGE');
  });
});
