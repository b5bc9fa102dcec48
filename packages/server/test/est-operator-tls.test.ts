import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openssl } from '@fleetpki/test-support';
import { startTestApi, type TestApi } from './helpers/api.js';
import { curl } from './helpers/curl.js';

/**
 * EST cacerts names the root of the gateway's own TLS certificate (the EST client's explicit
 * trust anchor for the server, RFC 7030 §3.6.1): with operator credentials (--tls-cert) that is
 * the top of the operator's chain when the chain carries it, and nothing it cannot know otherwise.
 */
describe('EST cacerts with operator TLS credentials', { timeout: 120_000 }, () => {
  let dir: string;
  const servers: TestApi[] = [];
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'fleetpki-est-operator-'));
    writeFileSync(join(dir, 'server.ext'), 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n');
    openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'op-root.key.pem'], dir);
    openssl(['req', '-x509', '-new', '-key', 'op-root.key.pem', '-sha256', '-subj', '/CN=Operator Root', '-days', '30', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-out', 'op-root.crt.pem'], dir);
    openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'server.key.pem'], dir);
    openssl(['req', '-new', '-key', 'server.key.pem', '-subj', '/CN=localhost', '-out', 'server.csr.pem'], dir);
    openssl(['x509', '-req', '-in', 'server.csr.pem', '-CA', 'op-root.crt.pem', '-CAkey', 'op-root.key.pem', '-CAcreateserial', '-days', '20', '-sha256', '-extfile', 'server.ext', '-out', 'server.crt.pem'], dir);
    writeFileSync(join(dir, 'chain-with-root.pem'), Buffer.concat([readFileSync(join(dir, 'server.crt.pem')), readFileSync(join(dir, 'op-root.crt.pem'))]));
  });
  after(async () => {
    for (const server of servers) await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const cacertsSubjects = async (chainFile: string): Promise<string> => {
    const api = await startTestApi('sqlite', { serve: { tlsCertFile: join(dir, chainFile), tlsKeyFile: join(dir, 'server.key.pem') } });
    servers.push(api);
    assert.equal((await api.call('POST', '/v1/projects', { json: { name: 'acme', slug: 'acme' } })).status, 201);
    assert.equal((await api.call('POST', '/v1/projects/acme/pki/cas', { json: { mode: 'generate' } })).status, 201);
    const r = await curl(['--cacert', join(dir, 'op-root.crt.pem'), `${api.server.gatewayUrl}/.well-known/est/acme/cacerts`]);
    assert.equal(r.status, 200);
    writeFileSync(join(dir, `${chainFile}.p7.der`), Buffer.from(r.body.toString('latin1'), 'base64'));
    return openssl(['pkcs7', '-inform', 'DER', '-in', `${chainFile}.p7.der`, '-print_certs', '-noout'], dir).toString('utf8');
  };

  it('a chain that ends in its root: that root, not fleetpki’s own', async () => {
    const subjects = await cacertsSubjects('chain-with-root.pem');
    assert.match(subjects, /subject=CN = Operator Root/);
    assert.doesNotMatch(subjects, /fleetpki Root X1/);
    assert.match(subjects, /CN = fleetpki acme Issuing CA/);
  });

  it('a chain that stops below its root: the project’s CAs only', async () => {
    const subjects = await cacertsSubjects('server.crt.pem');
    assert.doesNotMatch(subjects, /Operator Root|fleetpki Root X1/);
    assert.match(subjects, /CN = fleetpki acme Issuing CA/);
  });
});
