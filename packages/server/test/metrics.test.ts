import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeDevice, makeRoot } from '@fleetpki/test-support';
import { startTestApi, type TestApi } from './helpers/api.js';
import { base64 } from './helpers/base64.js';
import { runTool } from './helpers/coap-clients.js';
import { curlIdentity, writeDeviceFiles, type DeviceFiles } from './helpers/device-clients.js';
import { eventually } from './helpers/eventually.js';
import { mosquitto } from './helpers/mqtt-clients.js';
import { COAP } from './helpers/transport-coap.js';
import { freePort } from './helpers/free-port.js';

/** The value of one series in an exposition, or undefined. */
function sample(exposition: string, series: string): number | undefined {
  const line = exposition.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/**
 * Issue 18, 2: `/metrics` after real traffic of every kind — devices over HTTPS, MQTT and CoAP,
 * refusals (an unknown CA, a disabled device, a revoked certificate), issuance, API calls —
 * checked by `promtool check metrics` and scraped by a real Prometheus whose query API then
 * returns the refusal codes. No label names a device or a certificate.
 */
describe('Prometheus metrics', () => {
  let api: TestApi;
  let dir: string;
  let serverCa: string;
  const devices: Record<string, DeviceFiles> = {};
  const ids: string[] = [];

  before(async () => {
    api = await startTestApi('sqlite', { serve: { metricsPort: 0 } });
    dir = mkdtempSync(join(tmpdir(), 'fleetpki-metrics-'));
    serverCa = join(dir, 'server-ca.pem');
    writeFileSync(serverCa, (await api.call('GET', '/v1/server-ca', { key: null })).text);
    assert.equal((await api.call('POST', '/v1/projects', { json: { name: 'Meter', slug: 'meter' } })).status, 201);
    const root = makeRoot('/CN=Meter Root');
    assert.equal((await api.call('POST', '/v1/projects/meter/certificates', { json: { certFile: base64(root.pem) } })).status, 201);
    const stranger = makeRoot('/CN=Stranger Root');
    for (const [name, issuer] of [['good-1', root], ['good-2', root], ['off-1', root], ['gone-1', root], ['alien-1', stranger]] as const) {
      const issued = makeDevice(issuer, `/O=meter/CN=${name}`);
      devices[name] = writeDeviceFiles(dir, name, issued.pem, issued.keyPem);
      ids.push(name);
    }
    // Traffic of every kind.
    const gateway = { urls: api.server, serverCaFile: serverCa };
    assert.equal((await curlIdentity(api.server.gatewayUrl, serverCa, devices['good-1'])).status, 200);
    assert.equal((await mosquitto('mosquitto_pub', api.server.mqttUrl, serverCa, devices['good-2'], ['-i', 'good-2', '-t', 'meter/good-2/t', '-m', 'x'])).exit, 0);
    assert.equal((await COAP.clients[0].attempt(gateway, devices['good-1'])).admitted, true);
    assert.equal((await curlIdentity(api.server.gatewayUrl, serverCa, devices['alien-1'])).status, 403);
    const off = await curlIdentity(api.server.gatewayUrl, serverCa, devices['off-1']);
    ids.push(off.body['deviceId'] as string);
    assert.equal((await api.call('PATCH', `/v1/projects/meter/devices/${off.body['deviceId']}`, { json: { enabled: false } })).status, 200);
    assert.equal((await curlIdentity(api.server.gatewayUrl, serverCa, devices['off-1'])).body['code'], 'DEVICE_DISABLED');
    const gone = await curlIdentity(api.server.gatewayUrl, serverCa, devices['gone-1']);
    ids.push(gone.body['deviceId'] as string);
    await new Promise((resolve) => setTimeout(resolve, 500)); // the sighting's inventory row is written by the journal
    assert.equal((await api.call('POST', '/v1/projects/meter/revocations', { json: { certificates: [{ fingerprintSha256: (gone.body['certificate'] as { fingerprintSha256: string }).fingerprintSha256 }], reason: 'keyCompromise' } })).status, 200);
    assert.equal((await curlIdentity(api.server.gatewayUrl, serverCa, devices['gone-1'])).body['code'], 'CERT_REVOKED');
    assert.equal((await api.call('POST', '/v1/projects/meter/pki/cas', { json: { mode: 'generate' } })).status, 201);
    assert.equal((await api.call('GET', '/v1/projects/nope')).status, 404);
  });
  after(async () => {
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('GET /metrics on the management port needs the admin key; --metrics-port serves it without one', async () => {
    assert.equal((await api.call('GET', '/metrics', { key: null })).status, 401);
    const key = await api.call('POST', '/v1/projects/meter/api-keys', { json: { name: 'ops' } });
    const refused = await api.call('GET', '/metrics', { key: key.body['key'] as string });
    assert.equal(refused.status, 403);
    assert.equal(refused.body['code'], 'ADMIN_KEY_REQUIRED');
    const admin = await api.call('GET', '/metrics');
    assert.equal(admin.status, 200);
    assert.match(admin.contentType, /^text\/plain; version=0\.0\.4/);
    const open = await fetch(api.server.metricsUrl as string);
    assert.equal(open.status, 200);
    assert.match(await open.text(), /^fleetpki_device_authentications_total/m);
  });

  it('counts what happened, by transport, outcome and code; promtool check metrics passes; no label names a device or certificate', async () => {
    const exposition = await (await fetch(api.server.metricsUrl as string)).text();
    for (const transport of ['https', 'mqtt', 'coap']) assert.ok((sample(exposition, `fleetpki_device_authentications_total{transport="${transport}",outcome="accepted",code="OK"}`) ?? 0) >= 1, transport);
    for (const code of ['UNKNOWN_ISSUER', 'DEVICE_DISABLED', 'CERT_REVOKED']) assert.equal(sample(exposition, `fleetpki_device_authentications_total{transport="https",outcome="refused",code="${code}"}`), 1, code);
    assert.ok((sample(exposition, 'fleetpki_devices_provisioned_total{outcome="created"}') ?? 0) >= 4);
    assert.ok((sample(exposition, 'fleetpki_device_authentication_seconds_count{transport="https"}') ?? 0) >= 6);
    assert.ok((sample(exposition, 'fleetpki_store_transaction_seconds_count{dialect="sqlite"}') ?? 0) >= 1);
    assert.equal(sample(exposition, 'fleetpki_http_requests_total{route="/v1/projects/:projectId/revocations",status="200"}'), 1);
    assert.equal(sample(exposition, 'fleetpki_http_requests_total{route="unmatched",status="404"}') ?? sample(exposition, 'fleetpki_http_requests_total{route="/v1/projects/:projectId",status="404"}'), 1);
    assert.match(exposition, /^fleetpki_ca_certificate_expiry_timestamp_seconds\{project="meter",ca="[0-9a-f-]{36}"\} \d{10}$/m);
    assert.match(exposition, /^fleetpki_journal_pending_events \d+$/m);
    assert.match(exposition, /^fleetpki_device_connections\{transport="https"\} \d+$/m);
    assert.match(exposition, /^fleetpki_audit_events_dropped_total 0$/m);
    assert.match(exposition, /^nodejs_eventloop_lag_seconds /m);
    assert.match(exposition, /^process_cpu_user_seconds_total /m);
    for (const id of ids) assert.ok(!exposition.includes(id), `no label carries ${id}`);
    assert.doesNotMatch(exposition, /[0-9a-f]{64}/, 'no fingerprint');
    const checked = await runTool('promtool', ['check', 'metrics'], { input: exposition });
    assert.equal(checked.exitCode, 0, checked.stdout + checked.stderr);
  });

  it('a real Prometheus scrapes it, and its query API returns the refusal codes', async () => {
    const port = await freePort();
    const target = new URL(api.server.metricsUrl as string);
    writeFileSync(join(dir, 'prometheus.yml'), `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: fleetpki\n    metrics_path: /metrics\n    static_configs:\n      - targets: ['${target.host}']\n`);
    const prometheus = spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    prometheus.stderr.on('data', (chunk: Buffer) => (log += chunk.toString('utf8')));
    const exited = new Promise((resolve) => prometheus.once('exit', resolve));
    try {
      const query = async () => {
        try {
          const r = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent('fleetpki_device_authentications_total{outcome="refused"}')}`);
          return ((await r.json()) as { data?: { result?: { metric: { code: string } }[] } }).data?.result ?? [];
        } catch {
          return [];
        }
      };
      const result = await eventually(query, (r) => r.length >= 3, 30_000);
      assert.deepEqual(result.map((r) => r.metric.code).sort(), ['CERT_REVOKED', 'DEVICE_DISABLED', 'UNKNOWN_ISSUER'], log.slice(-2000));
    } finally {
      prometheus.kill('SIGTERM');
      await exited;
    }
  });
});
