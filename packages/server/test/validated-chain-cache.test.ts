import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { makeDevice, makeIntermediate, makeRoot } from '@fleetpki/test-support';
import { ValidatedChainCache, type ValidatedChain } from '../src/domain/identity/validated-chains.js';
import { startTestApi, type TestApi } from './helpers/api.js';
import { base64 } from './helpers/base64.js';
import { holdConnection } from './helpers/device-clients.js';

const project = { id: 'project-1', ca_generation: 1 };
const chain = (certificateId: string): ValidatedChain => ({
  projectKey: project.id,
  caGeneration: 1,
  projectSlug: 'acme',
  certificateId,
  anchorCaId: 'ca-1',
  fingerprintSha256: certificateId.padEnd(64, '0'),
  notBefore: 0,
  notAfter: Date.UTC(2100, 0),
  leafNotBefore: 0,
  leafNotAfter: Date.UTC(2100, 0),
  path: [{ fingerprintSha256: certificateId.padEnd(64, '0'), serialNumber: '01', issuerCaId: 'ca-1' }],
  issuer: 'CN=Root',
  subject: `O=acme, CN=${certificateId}`,
});

describe('validated-chain cache: bounded, least recently used first out', () => {
  it('holds at most its capacity, keeps what was just used, forgets the oldest', () => {
    const cache = new ValidatedChainCache(2);
    const now = new Date();
    cache.set('a', chain('a'));
    cache.set('b', chain('b'));
    assert.equal(cache.get('a', project, now)?.certificateId, 'a'); // a is now the most recent
    cache.set('c', chain('c'));
    assert.equal(cache.size, 2);
    assert.equal(cache.get('b', project, now), undefined, 'b was the least recently used');
    assert.equal(cache.get('a', project, now)?.certificateId, 'a');
    assert.equal(cache.get('c', project, now)?.certificateId, 'c');
  });

  it('a chain remembered under an older CA generation or another project is no hit, and is dropped', () => {
    const cache = new ValidatedChainCache(10);
    cache.set('a', chain('a'));
    assert.equal(cache.get('a', { id: project.id, ca_generation: 2 }, new Date()), undefined);
    assert.equal(cache.size, 0);
    cache.set('b', chain('b'));
    assert.equal(cache.get('b', { id: 'project-2', ca_generation: 1 }, new Date()), undefined);
    assert.equal(cache.size, 0);
  });

  it('keys are the SHA-256 of the bytes sent, 32 one-byte characters', () => {
    const key = ValidatedChainCache.keyOf([Buffer.from('leaf'), Buffer.from('intermediate')]);
    assert.equal(key.length, 32);
    assert.notEqual(key, ValidatedChainCache.keyOf([Buffer.from('leaf')]));
  });
});

/**
 * A server that remembers one chain: devices taking turns evict each other, so every handshake
 * but the repeats validates its path again — and each still gets its own identity, and a CA
 * disabled meanwhile is seen whether or not the chain was remembered.
 */
describe('a server with --validated-chain-cache 1 and 0', () => {
  const root = makeRoot('/CN=Chain Cache Root');
  const intermediate = makeIntermediate(root, '/CN=Chain Cache Intermediate');
  const devices = ['dev-a', 'dev-b', 'dev-c'].map((id) => ({ id, issued: makeDevice(intermediate, `/O=acme/CN=${id}`) }));
  const servers: { size: number; api: TestApi; serverCaPem: string; rootId: string }[] = [];

  before(async () => {
    for (const size of [1, 0]) {
      const api = await startTestApi('sqlite', { serve: { validatedChainCache: size } });
      assert.equal((await api.call('POST', '/v1/projects', { json: { name: 'acme', slug: 'acme' } })).status, 201);
      const uploaded = await api.call('POST', '/v1/projects/acme/certificates', { json: { certFile: base64(root.pem) } });
      assert.equal(uploaded.status, 201);
      servers.push({ size, api, serverCaPem: (await api.call('GET', '/v1/server-ca')).text, rootId: uploaded.body['id'] as string });
    }
  });
  after(async () => {
    for (const { api } of servers) await api.close();
  });

  for (const size of [1, 0]) {
    it(`cache of ${size}: devices taking turns each get their own identity, and a disabled CA refuses them all`, async () => {
      const server = servers.find((s) => s.size === size);
      assert.ok(server);
      const identityOf = async (device: (typeof devices)[number]) => {
        const connection = await holdConnection(server.api.server.gatewayUrl, server.serverCaPem, device.issued.pem + intermediate.pem, device.issued.keyPem);
        connection.end();
        return connection.identity;
      };
      for (const round of [1, 2]) {
        for (const device of devices) {
          const identity = await identityOf(device);
          assert.equal(identity['certificateId'], device.id, `round ${round}`);
          assert.equal(identity['projectId'], 'acme');
        }
      }
      const disabled = await server.api.call('PATCH', `/v1/projects/acme/certificates/${server.rootId}`, { json: { enabled: false } });
      assert.equal(disabled.status, 200);
      for (const device of devices) assert.equal((await identityOf(device))['code'], 'CA_DISABLED');
    });
  }
});
