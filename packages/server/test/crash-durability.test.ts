import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { makeRoot } from '@fleetpki/test-support';
import { apiRequest } from './helpers/api.js';
import { base64 } from './helpers/base64.js';
import { spawnServe, type ServeProcess } from './helpers/serve-process.js';
import { createTestStore, DIALECTS, type TestStore } from './helpers/stores.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ADMIN_KEY_FILE } from '@fleetpki/server';

/** Bounds of the burst: it stops by itself whatever happens. */
const OPERATIONS = 400;
const CONCURRENCY = 16;
const KILL_AFTER_ACKS = 120;

type Ack = { kind: 'device'; id: string; name: string } | { kind: 'ca'; id: string; fingerprint: string };


async function listAll(url: string, key: string): Promise<any[]> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const out = [];
  for (let page = 0; page < 100; page++) {
    const { body } = await apiRequest('GET', `${url}${url.includes('?') ? '&' : '?'}page=${page}&perPage=500`, key);
    out.push(...body.list);
    if (out.length >= body.total) break;
  }
  return out;
}

for (const dialect of DIALECTS) {
  describe(`no acknowledged write is lost when the server is SIGKILLed mid-burst [${dialect}]`, () => {
    let store: TestStore;
    let server: ServeProcess | undefined;
    after(async () => {
      await server?.stop('SIGKILL');
      await store?.cleanup();
    });

    it('keeps every acknowledged upload and device, and no half-written row', async () => {
      store = await createTestStore(dialect);
      const args = ['--data-dir', store.dataDir, ...(store.database ? ['--database', store.database] : [])];
      server = await spawnServe(args);
      const key = readFileSync(join(store.dataDir, ADMIN_KEY_FILE), 'utf8').trim();
      assert.equal((await apiRequest('POST', `${server.url}/v1/projects`, key, { json: { name: 'Crash', slug: 'crash' } })).status, 201);
      const roots = Array.from({ length: OPERATIONS / 2 }, (_, i) => makeRoot(`/CN=Burst Root ${i}`));

      const acks: Ack[] = [];
      let failures = 0;
      let next = 0;
      const url = server.url;
      const victim = server;
      const worker = async (): Promise<void> => {
        while (next < OPERATIONS) {
          const i = next++;
          try {
            if (i % 2 === 0) {
              const name = `burst-${i}`;
              const r = await apiRequest('POST', `${url}/v1/projects/crash/devices`, key, { json: { name } });
              if (r.status === 201) acks.push({ kind: 'device', id: r.body.id, name });
            } else {
              const root = roots[(i - 1) / 2]!;
              const r = await apiRequest('POST', `${url}/v1/projects/crash/certificates`, key, { json: { certFile: base64(root.pem) } });
              if (r.status === 201) acks.push({ kind: 'ca', id: r.body.id, fingerprint: r.body.certificateContent.fingerprintSha256 });
            }
          } catch {
            failures++; // the connection died with the server: not acknowledged
          }
          if (acks.length === KILL_AFTER_ACKS && victim.child.exitCode === null) victim.child.kill('SIGKILL');
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
      const exit = await victim.stop('SIGKILL');
      assert.equal(exit.signal, 'SIGKILL', 'the server was killed, not stopped');
      assert.ok(failures > 0, 'the kill landed in the middle of the burst');

      server = await spawnServe(args);
      const devices = await listAll(`${server.url}/v1/projects/crash/devices`, key);
      const cas = await listAll(`${server.url}/v1/projects/crash/certificates`, key);
      const audit = await listAll(`${server.url}/v1/projects/crash/audit`, key);
      const deviceIds = new Set(devices.map((d) => d.id));
      const caIds = new Set(cas.map((c) => c.id));
      for (const ack of acks) assert.ok((ack.kind === 'device' ? deviceIds : caIds).has(ack.id), `acknowledged ${ack.kind} ${ack.id} is present`);

      // No half-written row: every row is whole, and row and audit event were committed together.
      for (const d of devices) {
        assert.match(d.name, /^burst-\d+$/);
        assert.equal(d.provisioning, 'pre-provisioned');
        assert.equal(audit.filter((e) => e.action === 'device.create' && e.targetId === d.id).length, 1, `one audit event for device ${d.id}`);
      }
      for (const c of cas) {
        const der: Buffer = Buffer.from(await (await fetch(`${server.url}/v1/projects/crash/certificates/${c.id}?format=der`, { headers: { 'x-api-key': key } })).arrayBuffer());
        assert.equal(createHash('sha256').update(der).digest('hex'), c.certificateContent.fingerprintSha256, 'stored DER matches its fingerprint');
        assert.equal(audit.filter((e) => e.action === 'certificate.upload' && e.targetId === c.id).length, 1, `one audit event for CA ${c.id}`);
      }
      const created = audit.filter((e) => e.action === 'device.create' || e.action === 'certificate.upload').length;
      assert.equal(created, devices.length + cas.length, 'no audit event for a row that is not there');
      assert.ok(acks.length >= KILL_AFTER_ACKS);
    });
  });
}
