import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { silentLogger, startServer, type RunningServer } from '@fleetpki/server';
import { makeRoot } from '@fleetpki/test-support';
import { startTestApi, type TestApi } from './helpers/api.js';
import { base64 } from './helpers/base64.js';
import { DIALECTS } from './helpers/stores.js';

describe('the web console at / (issue 6)', () => {
  let dir: string;
  let server: RunningServer;
  let missing: RunningServer;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fleetpki-console-static-'));
    const app = join(dir, 'app');
    mkdirSync(join(app, 'assets'), { recursive: true });
    writeFileSync(join(app, 'index.html'), '<!doctype html><title>console</title><div id="root"></div>');
    writeFileSync(join(app, 'assets', 'index-abc123.js'), 'console.log("app")');
    writeFileSync(join(dir, 'secret.txt'), 'outside the console folder');
    const common = { httpPort: 0, gatewayPort: 0, mqttPort: 0, coapPort: 0, logger: silentLogger, announce: () => {} };
    server = await startServer({ ...common, dataDir: join(dir, 'data'), consoleDir: app });
    missing = await startServer({ ...common, dataDir: join(dir, 'data2'), consoleDir: join(dir, 'not-built') });
  });
  after(async () => {
    await server.close();
    await missing.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the app at /, and index.html for every page of its own so a reload lands on the same page', async () => {
    for (const path of ['/', '/projects', '/projects/acme/credentials/certificates', '/projects/acme/devices/0d6c']) {
      const response = await fetch(`${server.httpUrl}${path}`);
      assert.equal(response.status, 200, path);
      assert.match(response.headers.get('content-type') ?? '', /^text\/html/);
      assert.match(await response.text(), /<div id="root">/);
      assert.match(response.headers.get('content-security-policy') ?? '', /default-src 'self'/);
      assert.equal(response.headers.get('x-frame-options'), 'DENY');
    }
  });

  it('serves built assets with a long cache, and a missing asset is a 404 problem, not the app', async () => {
    const asset = await fetch(`${server.httpUrl}/assets/index-abc123.js`);
    assert.equal(asset.status, 200);
    assert.match(asset.headers.get('content-type') ?? '', /^text\/javascript/);
    assert.match(asset.headers.get('cache-control') ?? '', /immutable/);
    assert.equal(await asset.text(), 'console.log("app")');
    const gone = await fetch(`${server.httpUrl}/assets/index-old.js`);
    assert.equal(gone.status, 404);
    assert.equal(((await gone.json()) as { code: string }).code, 'ROUTE_NOT_FOUND');
  });

  it('never serves a file outside the console folder', async () => {
    for (const path of ['/..%2fsecret.txt', '/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt']) {
      const response = await fetch(`${server.httpUrl}${path}`);
      assert.ok(!(await response.text()).includes('outside the console folder'), path);
    }
  });

  it('leaves the API its own: unknown /v1 routes stay problems, /openapi.json stays the document', async () => {
    const unknown = await fetch(`${server.httpUrl}/v1/nothing-here`);
    assert.equal(unknown.status, 404);
    assert.match(unknown.headers.get('content-type') ?? '', /problem\+json/);
    const openapi = await fetch(`${server.httpUrl}/openapi.json`);
    assert.equal(((await openapi.json()) as { openapi: string }).openapi, '3.0.3');
  });

  it('says how to build the console when it is not built', async () => {
    const response = await fetch(`${missing.httpUrl}/projects/acme`);
    assert.equal(response.status, 200);
    assert.match(await response.text(), /has not been built.*npm run build/s);
  });
});

for (const dialect of DIALECTS) {
  describe(`audit log filters [${dialect}]`, () => {
    let api: TestApi;
    let deviceId: string;
    before(async () => {
      api = await startTestApi(dialect);
      await api.call('POST', '/v1/projects', { json: { name: 'Acme', slug: 'acme' } });
      deviceId = (await api.call('POST', '/v1/projects/acme/devices', { json: { name: 'sensor-1' } })).body['id'] as string;
      await api.call('PATCH', `/v1/projects/acme/devices/${deviceId}`, { json: { enabled: false } });
      await api.call('POST', '/v1/projects/acme/devices', { json: { name: 'sensor-2' } });
      await api.call('POST', '/v1/projects/acme/certificates', { json: { certFile: base64(makeRoot('/CN=Filter Root').pem) } });
    });
    after(() => api.close());

    it('filters by actions (comma-separated), target and actor, and counts only what matches', async () => {
      const uploads = await api.call('GET', '/v1/projects/acme/audit?action=certificate.upload');
      assert.equal(uploads.status, 200);
      assert.deepEqual(uploads.body['list'].map((e: { action: string }) => e.action), ['certificate.upload']);
      assert.equal(uploads.body['total'], 1);

      const deviceChanges = await api.call('GET', '/v1/projects/acme/audit?action=device.create,device.update');
      assert.deepEqual(deviceChanges.body['list'].map((e: { action: string }) => e.action), ['device.create', 'device.update', 'device.create']);

      const one = await api.call('GET', `/v1/projects/acme/audit?targetId=${deviceId}`);
      assert.deepEqual(one.body['list'].map((e: { action: string }) => e.action), ['device.update', 'device.create']);

      const byAdmin = await api.call('GET', `/v1/projects/acme/audit?actor=admin-key:${api.adminKey.slice(0, 12)}&perPage=1`);
      assert.equal(byAdmin.body['list'].length, 1);
      assert.equal(byAdmin.body['total'], 5);
      const nobody = await api.call('GET', '/v1/projects/acme/audit?actor=device:nobody');
      assert.equal(nobody.body['total'], 0);

      const platform = await api.call('GET', '/v1/audit?action=project.create');
      assert.equal(platform.body['total'], 1);
    });

    it('refuses a query naming too many actions', async () => {
      const many = Array.from({ length: 33 }, (_, i) => `a${i}`).join(',');
      const refused = await api.call('GET', `/v1/projects/acme/audit?action=${many}`);
      assert.equal(refused.status, 400);
      assert.equal(refused.body['code'], 'VALIDATION_FAILED');
    });
  });
}
