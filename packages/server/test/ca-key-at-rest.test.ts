import assert from 'node:assert/strict';
import { createDecipheriv, createHmac, createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { silentLogger, startServer, type RunningServer } from '@fleetpki/server';
import { opensslAsync } from '@fleetpki/test-support';
import { apiRequest } from './helpers/api.js';
import { base64 } from './helpers/base64.js';
import { createTestStore, DIALECTS, type TestStore } from './helpers/stores.js';

/** Every file under a directory, recursively (the data directory is shallow; bounded anyway). */
function filesUnder(dir: string, depth = 0): string[] {
  if (depth > 4) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path, depth + 1) : [path];
  });
}

/** The forms a leaked key could take in a file or a row: raw bytes, hex, base64, base64url. */
function leakForms(secret: Buffer): Buffer[] {
  return [secret, Buffer.from(secret.toString('hex')), Buffer.from(secret.toString('base64')), Buffer.from(secret.toString('base64url'))];
}

for (const dialect of DIALECTS) {
  describe(`managed CA keys at rest [${dialect}]`, () => {
    let store: TestStore;
    let server: RunningServer;
    let key: string;
    let caId: string;
    let certificatePem: string;

    before(async () => {
      store = await createTestStore(dialect);
      server = await startServer({ dataDir: store.dataDir, database: store.database, httpPort: 0, gatewayPort: 0, mqttPort: 0, coapPort: 0, logger: silentLogger, announce: () => {} });
      key = server.adminApiKey as string;
      assert.equal((await apiRequest('POST', `${server.httpUrl}/v1/projects`, key, { json: { name: 'vault', slug: 'vault' } })).status, 201);
      const ca = await apiRequest('POST', `${server.httpUrl}/v1/projects/vault/pki/cas`, key, { json: { mode: 'generate' } });
      assert.equal(ca.status, 201, ca.text);
      caId = ca.body['id'];
      certificatePem = ca.body['certificate'];
    });
    after(async () => {
      await server.close();
      await store.cleanup();
    });

    it('the master key file is 0600, and the sealed key opens only with it, to the CA certificate’s key', async () => {
      const masterFile = join(store.dataDir, 'master.key');
      assert.equal(statSync(masterFile).mode & 0o777, 0o600);
      const master = Buffer.from(readFileSync(masterFile, 'utf8').trim(), 'base64');
      assert.equal(master.length, 32);
      const row = await server.store.db.selectFrom('managed_cas').select(['sealed_key', 'pkcs11_label']).where('id', '=', caId).executeTakeFirstOrThrow();
      assert.equal(row.pkcs11_label, null);
      const sealed = Buffer.from(row.sealed_key as Buffer);
      // Layout: version 2 ‖ 8-octet key id ‖ 12-octet IV ‖ 16-octet tag ‖ ciphertext; AAD binds the CA id.
      assert.equal(sealed[0], 2);
      assert.deepEqual(sealed.subarray(1, 9), createHmac('sha256', master).update('fleetpki master key id').digest().subarray(0, 8));
      const open = (aad: string) => {
        const decipher = createDecipheriv('aes-256-gcm', master, sealed.subarray(9, 21));
        decipher.setAAD(Buffer.from(aad));
        decipher.setAuthTag(sealed.subarray(21, 37));
        return Buffer.concat([decipher.update(sealed.subarray(37)), decipher.final()]);
      };
      const pkcs8 = open(`fleetpki-ca-key:${caId}`);
      const privateKey = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
      const certificateKey = createPublicKey(certificatePem).export({ type: 'spki', format: 'der' });
      assert.deepEqual(createPublicKey(privateKey).export({ type: 'spki', format: 'der' }), certificateKey);
      assert.throws(() => open('fleetpki-ca-key:another-ca'), /unable to authenticate|Unsupported state/);
    });

    it('grep: neither the key nor its private scalar appears anywhere in the data directory or the database', async () => {
      const master = Buffer.from(readFileSync(join(store.dataDir, 'master.key'), 'utf8').trim(), 'base64');
      const row = await server.store.db.selectFrom('managed_cas').select('sealed_key').where('id', '=', caId).executeTakeFirstOrThrow();
      const sealed = Buffer.from(row.sealed_key as Buffer);
      const decipher = createDecipheriv('aes-256-gcm', master, sealed.subarray(9, 21));
      decipher.setAAD(Buffer.from(`fleetpki-ca-key:${caId}`));
      decipher.setAuthTag(sealed.subarray(21, 37));
      const pkcs8 = Buffer.concat([decipher.update(sealed.subarray(37)), decipher.final()]);
      const scalar = Buffer.from(createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }).export({ format: 'jwk' }).d as string, 'base64url');
      assert.equal(scalar.length, 32);
      const needles = [...leakForms(pkcs8), ...leakForms(scalar)];
      // Issue a certificate first, so the key has been used and every store page written.
      await opensslAsync(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'leak.key.pem'], store.dataDir);
      await opensslAsync(['req', '-new', '-key', 'leak.key.pem', '-subj', '/O=vault/CN=d1', '-out', 'leak.csr.pem'], store.dataDir);
      const issued = await apiRequest('POST', `${server.httpUrl}/v1/projects/vault/pki/issue`, key, { json: { csr: base64(readFileSync(join(store.dataDir, 'leak.csr.pem'))) } });
      assert.equal(issued.status, 201, issued.text);
      const files = filesUnder(store.dataDir);
      assert.ok(files.some((f) => f.endsWith('master.key')));
      if (dialect === 'sqlite') assert.ok(files.some((f) => f.endsWith('.sqlite')), 'the SQLite store is among the files searched');
      for (const file of files) {
        const bytes = readFileSync(file);
        for (const needle of needles) assert.equal(bytes.indexOf(needle), -1, `${file} holds the CA key`);
      }
      if (dialect === 'postgres') {
        // Every row of every table as PostgreSQL renders it (bytea as hex).
        for (const table of ['managed_cas', 'ca_certificates', 'issued_certificates', 'audit_events', 'platform_settings', 'projects']) {
          const rows = await server.store.db.selectFrom(table as 'managed_cas').selectAll().execute();
          const dump = Buffer.from(JSON.stringify(rows, (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString('hex') : v)));
          assert.ok(rows.length > 0 || table === 'platform_settings' || table === 'issued_certificates');
          for (const needle of needles) assert.equal(dump.indexOf(needle), -1, `table ${table} holds the CA key`);
        }
      }
    });

    it('another master key is refused at start (MASTER_KEY_MISMATCH); a sealed key that does not open answers CA_KEY_UNAVAILABLE, nothing issued', async () => {
      await server.close();
      const start = (masterKey?: string) =>
        startServer({ dataDir: store.dataDir, database: store.database, httpPort: 0, gatewayPort: 0, mqttPort: 0, coapPort: 0, logger: silentLogger, announce: () => {}, masterKey });
      await assert.rejects(start(randomBytes(32).toString('hex')), (error: Error & { code?: string }) => error.name === 'StartupError' && error.code === 'MASTER_KEY_MISMATCH');
      server = await start();
      // The right master key, but the CA's sealed key altered in the store: it does not open.
      const sealed = await server.store.db.selectFrom('managed_cas').select(['id', 'sealed_key']).where('sealed_key', 'is not', null).executeTakeFirstOrThrow();
      const altered = Buffer.from(sealed.sealed_key as Buffer);
      altered[altered.length - 1] = (altered[altered.length - 1] as number) ^ 0xff;
      await server.store.db.updateTable('managed_cas').set({ sealed_key: altered }).where('id', '=', sealed.id).execute();
      const before = await server.store.db.selectFrom('issued_certificates').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      const r = await apiRequest('POST', `${server.httpUrl}/v1/projects/vault/pki/issue`, key, { json: { csr: base64(readFileSync(join(store.dataDir, 'leak.csr.pem'))) } });
      assert.equal(r.status, 503);
      assert.equal(r.body['code'], 'CA_KEY_UNAVAILABLE');
      const afterCount = await server.store.db.selectFrom('issued_certificates').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      assert.equal(Number(afterCount.n), Number(before.n));
    });
  });
}
