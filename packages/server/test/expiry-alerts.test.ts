import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MASTER_KEY_FILE, ROOT_CERT_FILE, ROOT_KEY_FILE, silentLogger, startServer, type RunningServer } from '@fleetpki/server';
import { encodePem } from '@fleetpki/pki';
import { csrFor, makeRoot } from '@fleetpki/test-support';
import { apiRequest, startTestApi, type TestApi } from './helpers/api.js';
import { base64 } from './helpers/base64.js';
import { eventually } from './helpers/eventually.js';
import { DIALECTS } from './helpers/stores.js';

const DAY_MS = 24 * 3600 * 1000;

type AlertEvent = { action: string; targetId: string; targetType: string; details: { thresholdDays?: number; daysLeft?: number; kind: string } };

/** Issues a device certificate of `days` through the API. */
async function issueFor(api: TestApi, certificateId: string, days: number): Promise<string> {
  const csr = csrFor(`/O=fleet/CN=${certificateId}`);
  const r = await api.call('POST', '/v1/projects/fleet/pki/issue', { json: { csr: base64(encodePem('CERTIFICATE REQUEST', csr.der)), days } });
  assert.equal(r.status, 201, r.text);
  return r.body['fingerprintSha256'] as string;
}

async function alerts(api: TestApi): Promise<AlertEvent[]> {
  const expiring = await api.call('GET', '/v1/projects/fleet/audit?action=certificate.expiring&perPage=500');
  const expired = await api.call('GET', '/v1/projects/fleet/audit?action=certificate.expired&perPage=500');
  return [...(expiring.body['list'] as AlertEvent[]), ...(expired.body['list'] as AlertEvent[])];
}

/** "fingerprint@threshold" for each event, sorted, so duplicates show. */
const keysOf = (events: readonly AlertEvent[]) => events.map((e) => `${e.targetId}@${e.action === 'certificate.expired' ? 'expired' : e.details.thresholdDays}`).sort();

/**
 * Issue 17, 4: `certificate.expiring` once per certificate per threshold of `expiryAlertDays`
 * (device certificates of the inventory and CA certificates), `certificate.expired` once past
 * notAfter — on one server with a clock the test moves, and on two servers sharing PostgreSQL.
 */
for (const dialect of DIALECTS) {
  describe(`expiry alerts on one server, as time passes [${dialect}]`, () => {
    let api: TestApi;
    let clock = Date.now();
    const fingerprints: Record<string, string> = {};

    before(async () => {
      api = await startTestApi(dialect, { now: () => new Date(clock), serve: { expiryAlerts: { intervalMs: 3_600_000 } } });
      assert.equal((await api.call('POST', '/v1/projects', { json: { name: 'Fleet', slug: 'fleet' } })).status, 201);
      assert.equal((await api.call('POST', '/v1/projects/fleet/pki/cas', { json: { mode: 'generate', profile: { defaultDays: 30, maxDays: 400 } } })).status, 201);
      // An uploaded root that itself expires in 10 days: a CA certificate crossing 30.
      assert.equal((await api.call('POST', '/v1/projects/fleet/certificates', { json: { certFile: base64(makeRoot('/CN=Short Root', { days: 10 }).pem) } })).status, 201);
      for (const [id, days] of [['one-day', 1], ['five-days', 5], ['twenty-days', 20], ['sixty-days', 60]] as const) fingerprints[id] = await issueFor(api, id, days);
    });
    after(() => api.close());

    it('a pass reports each certificate at the smallest threshold it is inside, once', async () => {
      const pass = await api.server.expiryAlerts.tick();
      assert.equal(pass.leased, true);
      const events = await alerts(api);
      const byTarget = new Map(events.map((e) => [e.targetId, e]));
      assert.equal(byTarget.get(fingerprints['one-day'] as string)?.details.thresholdDays, 1);
      assert.equal(byTarget.get(fingerprints['five-days'] as string)?.details.thresholdDays, 7);
      assert.equal(byTarget.get(fingerprints['five-days'] as string)?.details.daysLeft, 5);
      assert.equal(byTarget.get(fingerprints['twenty-days'] as string)?.details.thresholdDays, 30);
      assert.equal(byTarget.has(fingerprints['sixty-days'] as string), false);
      const ca = events.filter((e) => e.targetType === 'ca-certificate');
      assert.equal(ca.length, 1);
      assert.equal(ca[0]?.details.thresholdDays, 30);
      assert.equal(ca[0]?.details.kind, 'ca');
      assert.equal(events.length, 4);
      // Again: nothing new.
      await api.server.expiryAlerts.tick();
      assert.equal((await alerts(api)).length, 4);
    });

    it('as days pass, each certificate is reported again at each smaller threshold, then expired, once each', async () => {
      clock += 14 * DAY_MS; // twenty-days has 6 left (crosses 7); one-day and five-days are expired; the root is expired
      await api.server.expiryAlerts.tick();
      await api.server.expiryAlerts.tick();
      clock += 5.5 * DAY_MS; // twenty-days has half a day left (crosses 1)
      await api.server.expiryAlerts.tick();
      clock += 1 * DAY_MS; // twenty-days expired
      await api.server.expiryAlerts.tick();
      const keys = keysOf(await alerts(api));
      assert.deepEqual(new Set(keys).size, keys.length, `no duplicates: ${keys.join(' ')}`);
      const of = (id: string) => keys.filter((k) => k.startsWith(`${fingerprints[id]}@`)).map((k) => k.split('@')[1]);
      assert.deepEqual(of('one-day'), ['1', 'expired']);
      assert.deepEqual(of('five-days'), ['7', 'expired']);
      assert.deepEqual(of('twenty-days'), ['1', '30', '7', 'expired']);
      assert.deepEqual(of('sixty-days'), [], 'still 39.5 days left');
    });
  });
}

describe('expiry alerts with two servers on one PostgreSQL database', () => {
  let api: TestApi;
  let second: RunningServer;
  let secondDir: string;

  before(async () => {
    api = await startTestApi('postgres', { serve: { expiryAlerts: { intervalMs: 100, leaseMs: 300 } } });
    secondDir = mkdtempSync(join(tmpdir(), 'fleetpki-second-'));
    for (const file of [ROOT_CERT_FILE, ROOT_KEY_FILE, MASTER_KEY_FILE]) cpSync(join(api.store.dataDir, file), join(secondDir, file));
    second = await startServer({
      dataDir: secondDir,
      database: api.store.database,
      httpPort: 0,
      gatewayPort: 0,
      mqttPort: 0,
      coapPort: 0,
      logger: silentLogger,
      announce: () => {},
      expiryAlerts: { intervalMs: 100, leaseMs: 300 },
    });
  });
  after(async () => {
    await second.close();
    rmSync(secondDir, { recursive: true, force: true });
    await api.close();
  });

  it('each certificate is reported once per threshold though both servers look every 100 ms', async () => {
    assert.equal((await api.call('POST', '/v1/projects', { json: { name: 'Fleet', slug: 'fleet' } })).status, 201);
    const settings = await apiRequest('PATCH', `${second.httpUrl}/v1/projects/fleet`, api.adminKey, { json: { settings: { expiryAlertDays: [30, 7, 2] } } });
    assert.equal(settings.status, 200, settings.text);
    assert.equal((await api.call('POST', '/v1/projects/fleet/pki/cas', { json: { mode: 'generate', profile: { defaultDays: 30, maxDays: 400 } } })).status, 201);
    const issued: string[] = [];
    for (let i = 0; i < 30; i++) issued.push(await issueFor(api, `unit-${i}`, [1, 3, 10, 45, 100][i % 5] as number));
    const expected = 30 - 12; // 45 and 100 days are inside no threshold: 6 + 6 of them
    const events = await eventually(
      () => alerts(api),
      (list) => list.length >= expected,
      10_000,
    );
    // Both servers keep looking for a while: nothing is reported twice.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const settled = await alerts(api);
    const keys = keysOf(settled);
    assert.equal(keys.length, expected, keys.join(' '));
    assert.equal(new Set(keys).size, keys.length);
    assert.equal(events.length, expected);
    const thresholds = settled.map((e) => e.details.thresholdDays).sort((a, b) => (a ?? 0) - (b ?? 0));
    assert.deepEqual(thresholds, [...Array(6).fill(2), ...Array(6).fill(7), ...Array(6).fill(30)]);
    assert.ok(issued.length === 30);
  });
});
