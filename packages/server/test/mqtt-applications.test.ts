import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeDevice, makeRoot, type Issued } from '@fleetpki/test-support';
import { MASTER_KEY_FILE, ROOT_CERT_FILE, ROOT_KEY_FILE, silentLogger, startServer, StartupError, type Logger, type RunningServer } from '@fleetpki/server';
import { apiRequest, startTestApi, type TestApi } from './helpers/api.js';
import { base64 } from './helpers/base64.js';
import { writeDeviceFiles, type DeviceFiles } from './helpers/device-clients.js';
import { eventually } from './helpers/eventually.js';
import { mosquitto, rawApplicationSession, rawMqttSession, startSubscriber } from './helpers/mqtt-clients.js';
import { startRedis, type RedisUnderTest } from './helpers/redis-server.js';
import { createTestStore, DIALECTS, type TestStore } from './helpers/stores.js';

/** What a server logged, for the refusal codes an MQTT client cannot see (CONNACK has one byte). */
function capturingLogger(lines: { msg: string; fields: Record<string, unknown> }[]): Logger {
  return { log: (_level, msg, fields = {}) => void lines.push({ msg, fields: { ...fields } }) };
}

/**
 * Issue 20, part 4: applications on the broker with a project API key, across two servers that
 * share one PostgreSQL database and one Redis (Debian's redis-server, started here). Node A and
 * node B are separate brokers; only Redis joins them.
 */
describe('MQTT applications across two nodes sharing PostgreSQL and Redis', () => {
  let redis: RedisUnderTest;
  let store: TestStore;
  let secondDataDir: string;
  let nodeA: RunningServer;
  let nodeB: RunningServer;
  const logsA: { msg: string; fields: Record<string, unknown> }[] = [];
  let serverCa: string;
  let serverCaPem: string;
  const acmeRoot = makeRoot('/CN=Acme Apps Root');
  const betaRoot = makeRoot('/CN=Beta Apps Root');
  let sensor: Issued;
  let sensorFiles: DeviceFiles;
  let betaFiles: DeviceFiles;
  const keys: Record<'acmeApp' | 'acmeListener' | 'acmeApi' | 'betaApp', { id: string; key: string }> = {} as never;
  let adminKey: string;

  const admin = (server: RunningServer, method: string, path: string, json?: unknown): ReturnType<typeof apiRequest> => apiRequest(method, `${server.httpUrl}${path}`, adminKey, json === undefined ? {} : { json });

  before(async () => {
    redis = await startRedis();
    store = await createTestStore('postgres');
    const options = { database: store.database, httpPort: 0, gatewayPort: 0, mqttPort: 0, coapPort: 0, announce: () => {}, redis: redis.url };
    nodeA = await startServer({ ...options, dataDir: store.dataDir, logger: capturingLogger(logsA) });
    // Servers sharing a database share the platform root and the master key (README).
    secondDataDir = mkdtempSync(join(tmpdir(), 'fleetpki-mqtt-apps-second-'));
    for (const file of [ROOT_CERT_FILE, ROOT_KEY_FILE, MASTER_KEY_FILE]) cpSync(join(store.dataDir, file), join(secondDataDir, file));
    nodeB = await startServer({ ...options, dataDir: secondDataDir, logger: silentLogger });
    adminKey = nodeA.adminApiKey as string;

    for (const [slug, root] of [['acme', acmeRoot], ['beta', betaRoot]] as const) {
      assert.equal((await admin(nodeA, 'POST', '/v1/projects', { name: slug, slug })).status, 201);
      assert.equal((await admin(nodeA, 'POST', `/v1/projects/${slug}/certificates`, { certFile: base64(root.pem) })).status, 201);
    }
    const makeKey = async (slug: string, name: string, scopes?: string[]): Promise<{ id: string; key: string }> => {
      const made = await admin(nodeB, 'POST', `/v1/projects/${slug}/api-keys`, { name, ...(scopes ? { scopes } : {}) });
      assert.equal(made.status, 201, made.text);
      assert.deepEqual(made.body['scopes'], scopes ?? ['api']);
      return { id: made.body['id'] as string, key: made.body['key'] as string };
    };
    keys.acmeApp = await makeKey('acme', 'backend', ['mqtt:subscribe', 'mqtt:publish']);
    keys.acmeListener = await makeKey('acme', 'dashboard', ['mqtt:subscribe']);
    keys.acmeApi = await makeKey('acme', 'ops');
    keys.betaApp = await makeKey('beta', 'beta backend', ['mqtt:subscribe', 'mqtt:publish']);

    serverCaPem = (await apiRequest('GET', `${nodeA.httpUrl}/v1/server-ca`, null)).text;
    serverCa = join(store.dataDir, 'server-ca.pem');
    writeFileSync(serverCa, serverCaPem);
    sensor = makeDevice(acmeRoot, '/O=acme/CN=sensor-7');
    sensorFiles = writeDeviceFiles(store.dataDir, 'sensor-7', sensor.pem, sensor.keyPem);
    const betaDevice = makeDevice(betaRoot, '/O=beta/CN=meter-1');
    betaFiles = writeDeviceFiles(store.dataDir, 'meter-1', betaDevice.pem, betaDevice.keyPem);
  });
  after(async () => {
    await nodeA?.close();
    await nodeB?.close();
    if (secondDataDir) rmSync(secondDataDir, { recursive: true, force: true });
    await store?.cleanup();
    await redis?.stop();
  });

  const application = (name: keyof typeof keys, slug = name.startsWith('beta') ? 'beta' : 'acme'): string[] => ['-u', slug, '-P', keys[name].key];

  it('mosquitto_sub as an application on node A receives what mosquitto_pub as a device publishes on node B', async () => {
    const sub = startSubscriber(nodeA.mqttUrl, serverCa, undefined, [...application('acmeApp'), '-t', 'acme/#', '-v', '-C', '1', '-W', '15']);
    await sub.subscribed;
    const pub = await mosquitto('mosquitto_pub', nodeB.mqttUrl, serverCa, sensorFiles, ['-i', 'sensor-7', '-t', 'acme/sensor-7/telemetry', '-m', '21.5', '-q', '1']);
    assert.equal(pub.exit, 0, pub.output);
    const result = await sub.done;
    assert.equal(result.exit, 0, result.output);
    assert.deepEqual(sub.lines(), ['acme/sensor-7/telemetry 21.5']);
  });

  it('an application on node B sends a command that the device subscribed on node A receives', async () => {
    const device = startSubscriber(nodeA.mqttUrl, serverCa, sensorFiles, ['-i', 'sensor-7', '-t', 'acme/sensor-7/commands', '-v', '-C', '1', '-W', '15']);
    await device.subscribed;
    const pub = await mosquitto('mosquitto_pub', nodeB.mqttUrl, serverCa, undefined, [...application('acmeApp'), '-t', 'acme/sensor-7/commands', '-m', 'reboot', '-q', '1']);
    assert.equal(pub.exit, 0, pub.output);
    assert.equal((await device.done).exit, 0);
    assert.deepEqual(device.lines(), ['acme/sensor-7/commands reboot']);
  });

  it('a retained message published on node A is delivered by node B to a later subscriber', async () => {
    const pub = await mosquitto('mosquitto_pub', nodeA.mqttUrl, serverCa, sensorFiles, ['-i', 'sensor-7', '-t', 'acme/sensor-7/firmware', '-m', '2.4.1', '-r', '-q', '1']);
    assert.equal(pub.exit, 0, pub.output);
    const sub = await mosquitto('mosquitto_sub', nodeB.mqttUrl, serverCa, undefined, [...application('acmeListener'), '-t', 'acme/+/firmware', '-v', '-C', '1', '-W', '10']);
    assert.equal(sub.exit, 0, sub.output);
    assert.equal(sub.output.trim(), 'acme/sensor-7/firmware 2.4.1');
  });

  it('a persistent application session left on node A gets on node B what was published while it was away', async () => {
    const first = await mosquitto('mosquitto_sub', nodeA.mqttUrl, serverCa, undefined, [...application('acmeApp'), '-i', 'archiver', '-c', '-q', '1', '-t', 'acme/+/events', '-W', '2']);
    assert.match(first.output, /Timed out/, first.output);
    const pub = await mosquitto('mosquitto_pub', nodeA.mqttUrl, serverCa, sensorFiles, ['-i', 'sensor-7', '-t', 'acme/sensor-7/events', '-m', 'door-open', '-q', '1']);
    assert.equal(pub.exit, 0, pub.output);
    const resumed = await mosquitto('mosquitto_sub', nodeB.mqttUrl, serverCa, undefined, [...application('acmeApp'), '-i', 'archiver', '-c', '-q', '1', '-t', 'acme/+/events', '-v', '-C', '1', '-W', '10']);
    assert.equal(resumed.exit, 0, resumed.output);
    assert.equal(resumed.output.trim(), 'acme/sensor-7/events door-open');
  });

  it('beta’s application key cannot subscribe to acme/# (granted 0x80) nor publish there, and a refused filter is not kept in its persistent session', async () => {
    const denied = await mosquitto('mosquitto_sub', nodeA.mqttUrl, serverCa, undefined, ['-d', ...application('betaApp'), '-t', 'acme/#', '-C', '1', '-W', '3']);
    assert.match(denied.output, /Subscribed \(mid: 1\): 128/, denied.output);
    assert.match(denied.output, /All subscription requests were denied/);
    for (const filter of ['#', '+/sensor-7/telemetry', '$app/#']) {
      const wildcard = await mosquitto('mosquitto_sub', nodeA.mqttUrl, serverCa, undefined, ['-d', ...application('betaApp'), '-t', filter, '-C', '1', '-W', '3']);
      assert.match(wildcard.output, /Subscribed \(mid: 1\): 128/, `${filter}: ${wildcard.output}`);
    }
    // A device subscribed to its command topic must not get beta's publication.
    const device = startSubscriber(nodeB.mqttUrl, serverCa, sensorFiles, ['-i', 'sensor-7', '-t', 'acme/sensor-7/commands', '-v', '-W', '4']);
    await device.subscribed;
    const pub = await mosquitto('mosquitto_pub', nodeA.mqttUrl, serverCa, undefined, [...application('betaApp'), '-t', 'acme/sensor-7/commands', '-m', 'unlock', '-q', '1']);
    assert.notEqual(pub.exit, 0, 'the broker drops an application publishing outside its project');
    await device.done;
    assert.deepEqual(device.lines(), []);

    // beta/# granted beside acme/# refused, in one SUBSCRIBE of a persistent session: Redis keeps only beta/#.
    const mixed = await mosquitto('mosquitto_sub', nodeA.mqttUrl, serverCa, undefined, ['-d', ...application('betaApp'), '-i', 'beta-archiver', '-c', '-q', '1', '-t', 'beta/#', '-t', 'acme/#', '-W', '2']);
    assert.match(mixed.output, /Subscribed \(mid: 1\): 1, 128/, mixed.output);
    const stored = await redis.client().hgetall(`client:${encodeURIComponent('$app/beta/beta-archiver')}`);
    assert.deepEqual(Object.keys(stored), ['beta/#']);
    const acmePub = await mosquitto('mosquitto_pub', nodeB.mqttUrl, serverCa, sensorFiles, ['-i', 'sensor-7', '-t', 'acme/sensor-7/events', '-m', 'secret', '-q', '1']);
    assert.equal(acmePub.exit, 0, acmePub.output);
    const betaPub = await mosquitto('mosquitto_pub', nodeB.mqttUrl, serverCa, betaFiles, ['-i', 'meter-1', '-t', 'beta/meter-1/reading', '-m', '42', '-q', '1']);
    assert.equal(betaPub.exit, 0, betaPub.output);
    const resumed = await mosquitto('mosquitto_sub', nodeB.mqttUrl, serverCa, undefined, [...application('betaApp'), '-i', 'beta-archiver', '-c', '-q', '1', '-t', 'beta/#', '-v', '-W', '3']);
    assert.deepEqual(resumed.output.split('\n').filter((line) => line !== '' && line !== 'Timed out'), ['beta/meter-1/reading 42']);
  });

  it('scopes: a subscribe-only key cannot publish; the server’s $fleetpki level and topics above a device are not an application’s to publish', async () => {
    const listener = await mosquitto('mosquitto_pub', nodeA.mqttUrl, serverCa, undefined, [...application('acmeListener'), '-t', 'acme/sensor-7/commands', '-m', 'x', '-q', '1']);
    assert.notEqual(listener.exit, 0, listener.output);
    for (const topic of ['acme/sensor-7/$fleetpki/renewal', 'acme/sensor-7', 'acme/broadcast', 'acme//commands']) {
      const pub = await mosquitto('mosquitto_pub', nodeA.mqttUrl, serverCa, undefined, [...application('acmeApp'), '-t', topic, '-m', 'x', '-q', '1']);
      assert.notEqual(pub.exit, 0, `${topic}: ${pub.output}`);
    }
  });

  it('refuses credentials that are not an application’s, each with its CONNACK return code and logged code', async () => {
    const cases: { name: string; username: string; password: string; returnCode: number; code: string }[] = [
      { name: 'a key of another project', username: 'acme', password: keys.betaApp.key, returnCode: 4, code: 'API_KEY_INVALID' },
      { name: 'an unknown project', username: 'nobody', password: keys.acmeApp.key, returnCode: 4, code: 'API_KEY_INVALID' },
      { name: 'a malformed key', username: 'acme', password: 'hunter2', returnCode: 4, code: 'API_KEY_INVALID' },
      { name: 'an unknown key', username: 'acme', password: `fpk_${'A'.repeat(43)}`, returnCode: 4, code: 'API_KEY_INVALID' },
      { name: 'the admin key', username: 'acme', password: adminKey, returnCode: 4, code: 'API_KEY_INVALID' },
      { name: 'an empty password', username: 'acme', password: '', returnCode: 4, code: 'API_KEY_MISSING' },
      { name: 'a management-only key', username: 'acme', password: keys.acmeApi.key, returnCode: 5, code: 'API_KEY_SCOPE_MISSING' },
    ];
    for (const c of cases) {
      const before = logsA.length;
      const session = await rawApplicationSession(nodeA.mqttUrl, serverCaPem, c.username, c.password, `probe-${c.returnCode}`);
      session.socket.destroy();
      assert.equal(session.returnCode, c.returnCode, c.name);
      const refused = await eventually(
        () => Promise.resolve(logsA.slice(before).find((line) => line.msg === 'MQTT application refused')),
        (line) => line !== undefined,
      );
      assert.equal(refused?.fields['code'], c.code, c.name);
    }
    // Without a key and without a certificate it is a device without its certificate, as before.
    const bare = await mosquitto('mosquitto_sub', nodeA.mqttUrl, serverCa, undefined, ['-t', 'acme/#', '-C', '1', '-W', '3']);
    assert.match(bare.output, /not authori[sz]ed/i, bare.output);
  });

  it('an mqtt-only key is refused by the management API (403 API_KEY_SCOPE_MISSING); a key’s scopes are checked when it is made', async () => {
    const refused = await apiRequest('GET', `${nodeA.httpUrl}/v1/projects/acme/devices`, keys.acmeApp.key);
    assert.equal(refused.status, 403);
    assert.equal(refused.body['code'], 'API_KEY_SCOPE_MISSING');
    assert.equal(refused.body['scope'], 'api');
    assert.equal((await apiRequest('GET', `${nodeA.httpUrl}/v1/projects/acme/devices`, keys.acmeApi.key)).status, 200);
    const bad: [string, unknown][] = [
      ['an unknown scope', { scopes: ['mqtt:admin'] }],
      ['no scope at all', { scopes: [] }],
      ['scopes not a list', { scopes: 'api' }],
      ['a scope not a string', { scopes: [7] }],
    ];
    for (const [name, body] of bad) {
      const before = await admin(nodeA, 'GET', '/v1/projects/acme/api-keys');
      const answer = await admin(nodeA, 'POST', '/v1/projects/acme/api-keys', body);
      assert.equal(answer.status, 400, name);
      assert.equal(answer.body['code'], 'VALIDATION_FAILED', name);
      assert.equal((await admin(nodeA, 'GET', '/v1/projects/acme/api-keys')).body['total'], before.body['total'], `${name}: nothing stored`);
    }
    const listed = await admin(nodeA, 'GET', '/v1/projects/acme/api-keys');
    const scopesById = new Map((listed.body['list'] as { id: string; scopes: string[] }[]).map((k) => [k.id, k.scopes]));
    assert.deepEqual(scopesById.get(keys.acmeListener.id), ['mqtt:subscribe']);
    assert.deepEqual(scopesById.get(keys.acmeApi.id), ['api']);
  });

  it('an application’s client ID cannot take over a device’s session, nor another project’s application', async () => {
    const device = await rawMqttSession(nodeA.mqttUrl, serverCaPem, sensor.pem, sensor.keyPem, 'sensor-7');
    assert.equal(device.returnCode, 0);
    const betaApp = await rawApplicationSession(nodeB.mqttUrl, serverCaPem, 'beta', keys.betaApp.key, 'shared-name');
    assert.equal(betaApp.returnCode, 0);
    for (const clientId of ['acme/sensor-7', 'sensor-7', 'shared-name']) {
      const app = await rawApplicationSession(nodeB.mqttUrl, serverCaPem, 'acme', keys.acmeApp.key, clientId);
      assert.equal(app.returnCode, 0, clientId);
      app.socket.destroy();
    }
    const stillOpen = await Promise.race([device.closed, betaApp.closed, new Promise<number>((resolve) => setTimeout(() => resolve(-1), 1500))]);
    assert.equal(stillOpen, -1, 'neither the device nor beta’s application lost its session');
    device.socket.destroy();
    betaApp.socket.destroy();
    // The same project's client ID on the other node takes the session over (MQTT 3.1.1 §3.1.4), across Redis.
    const first = await rawApplicationSession(nodeA.mqttUrl, serverCaPem, 'acme', keys.acmeApp.key, 'ingest');
    const second = await rawApplicationSession(nodeB.mqttUrl, serverCaPem, 'acme', keys.acmeApp.key, 'ingest');
    assert.deepEqual([first.returnCode, second.returnCode], [0, 0]);
    const tookOver = await Promise.race([first.closed, new Promise<number>((resolve) => setTimeout(() => resolve(-1), 3000))]);
    assert.notEqual(tookOver, -1, 'node A ended the session node B took over');
    second.socket.destroy();
  });

  it('a revoked API key’s sessions end within one second, on both nodes', async () => {
    const revocable = await admin(nodeA, 'POST', '/v1/projects/acme/api-keys', { name: 'temporary', scopes: ['mqtt:subscribe'] });
    assert.equal(revocable.status, 201);
    const onA = await rawApplicationSession(nodeA.mqttUrl, serverCaPem, 'acme', revocable.body['key'] as string, 'temp-a');
    const onB = await rawApplicationSession(nodeB.mqttUrl, serverCaPem, 'acme', revocable.body['key'] as string, 'temp-b');
    assert.deepEqual([onA.returnCode, onB.returnCode], [0, 0]);
    const revokedAt = Date.now();
    assert.equal((await admin(nodeB, 'DELETE', `/v1/projects/acme/api-keys/${revocable.body['id'] as string}`)).status, 200);
    const timeout = new Promise<number>((resolve) => setTimeout(() => resolve(-1), 3000));
    const [closedA, closedB] = await Promise.all([Promise.race([onA.closed, timeout]), Promise.race([onB.closed, timeout])]);
    assert.notEqual(closedA, -1, 'node A ended the session');
    assert.notEqual(closedB, -1, 'node B ended the session');
    assert.ok(closedA - revokedAt < 1000, `node A took ${closedA - revokedAt} ms`);
    assert.ok(closedB - revokedAt < 1000, `node B took ${closedB - revokedAt} ms`);
    const again = await rawApplicationSession(nodeA.mqttUrl, serverCaPem, 'acme', revocable.body['key'] as string, 'temp-a');
    assert.equal(again.returnCode, 4);
    again.socket.destroy();
  });

  it('a revoked key’s persistent session stops collecting: its stored subscriptions are dropped', async () => {
    const made = await admin(nodeA, 'POST', '/v1/projects/acme/api-keys', { name: 'archiver 2', scopes: ['mqtt:subscribe'] });
    const sub = startSubscriber(nodeB.mqttUrl, serverCa, undefined, ['-u', 'acme', '-P', made.body['key'] as string, '-i', 'archiver-2', '-c', '-q', '1', '-t', 'acme/#', '-W', '10']);
    await sub.subscribed;
    const sessionKey = `client:${encodeURIComponent('$app/acme/archiver-2')}`;
    assert.deepEqual(Object.keys(await redis.client().hgetall(sessionKey)), ['acme/#']);
    assert.equal((await admin(nodeA, 'DELETE', `/v1/projects/acme/api-keys/${made.body['id'] as string}`)).status, 200);
    const ended = await sub.done;
    assert.notEqual(ended.exit, 27, 'ended by the server, not by its own timeout');
    await eventually(() => redis.client().hgetall(sessionKey), (stored) => Object.keys(stored).length === 0);
  });
});

describe('serve --redis refusals', () => {
  it('an unreachable Redis stops the start with REDIS_UNAVAILABLE; a URL that is not redis:// with INVALID_OPTION, never echoing the password', async () => {
    const store = await createTestStore('sqlite');
    try {
      const options = { dataDir: store.dataDir, httpPort: 0, gatewayPort: 0, mqttPort: 0, coapPort: 0, logger: silentLogger, announce: () => {} };
      const started = Date.now();
      await assert.rejects(startServer({ ...options, redis: 'redis://127.0.0.1:1' }), (error: unknown) => error instanceof StartupError && error.code === 'REDIS_UNAVAILABLE');
      assert.ok(Date.now() - started < 20_000);
      for (const url of ['http://user:s3cret@127.0.0.1:6379', 'redis://:s3cret@127.0.0.1:6379/db', 'not a url s3cret']) {
        await assert.rejects(startServer({ ...options, redis: url }), (error: unknown) => error instanceof StartupError && error.code === 'INVALID_OPTION' && !error.message.includes('s3cret'));
      }
    } finally {
      await store.cleanup();
    }
  });
});

for (const dialect of DIALECTS) {
  describe(`MQTT applications on one server without Redis [${dialect}]`, () => {
    let api: TestApi;
    let serverCa: string;
    let sensorFiles: DeviceFiles;
    let appKey: string;
    const root = makeRoot('/CN=Single Node Apps Root');

    before(async () => {
      api = await startTestApi(dialect);
      assert.equal((await api.call('POST', '/v1/projects', { json: { name: 'Acme', slug: 'acme' } })).status, 201);
      assert.equal((await api.call('POST', '/v1/projects/acme/certificates', { json: { certFile: base64(root.pem) } })).status, 201);
      const made = await api.call('POST', '/v1/projects/acme/api-keys', { json: { name: 'backend', scopes: ['mqtt:subscribe', 'mqtt:publish'] } });
      assert.equal(made.status, 201, made.text);
      appKey = made.body['key'] as string;
      serverCa = join(api.store.dataDir, 'server-ca.pem');
      writeFileSync(serverCa, (await api.call('GET', '/v1/server-ca', { key: null })).text);
      const sensor = makeDevice(root, '/O=acme/CN=sensor-7');
      sensorFiles = writeDeviceFiles(api.store.dataDir, 'sensor-7', sensor.pem, sensor.keyPem);
    });
    after(() => api.close());

    it('an application and a device talk through the in-process broker, both ways; a persistent session collects while away', async () => {
      const sub = startSubscriber(api.server.mqttUrl, serverCa, undefined, ['-u', 'acme', '-P', appKey, '-t', 'acme/+/telemetry', '-v', '-C', '1', '-W', '10']);
      await sub.subscribed;
      assert.equal((await mosquitto('mosquitto_pub', api.server.mqttUrl, serverCa, sensorFiles, ['-i', 'sensor-7', '-t', 'acme/sensor-7/telemetry', '-m', '19', '-q', '1'])).exit, 0);
      assert.equal((await sub.done).exit, 0);
      assert.deepEqual(sub.lines(), ['acme/sensor-7/telemetry 19']);

      const device = startSubscriber(api.server.mqttUrl, serverCa, sensorFiles, ['-i', 'sensor-7', '-t', 'acme/sensor-7/commands', '-v', '-C', '1', '-W', '10']);
      await device.subscribed;
      assert.equal((await mosquitto('mosquitto_pub', api.server.mqttUrl, serverCa, undefined, ['-u', 'acme', '-P', appKey, '-t', 'acme/sensor-7/commands', '-m', 'blink', '-q', '1'])).exit, 0);
      assert.equal((await device.done).exit, 0);
      assert.deepEqual(device.lines(), ['acme/sensor-7/commands blink']);

      // `#` refused beside acme/# granted (the Redis test above looks into what is stored).
      const mixed = await mosquitto('mosquitto_sub', api.server.mqttUrl, serverCa, undefined, ['-d', '-u', 'acme', '-P', appKey, '-i', 'keeper', '-c', '-q', '1', '-t', 'acme/#', '-t', '#', '-W', '2']);
      assert.match(mixed.output, /Subscribed \(mid: 1\): 1, 128/, mixed.output);
      assert.equal((await mosquitto('mosquitto_pub', api.server.mqttUrl, serverCa, sensorFiles, ['-i', 'sensor-7', '-t', 'acme/sensor-7/events', '-m', 'kept', '-q', '1'])).exit, 0);
      const resumed = await mosquitto('mosquitto_sub', api.server.mqttUrl, serverCa, undefined, ['-u', 'acme', '-P', appKey, '-i', 'keeper', '-c', '-q', '1', '-t', 'acme/#', '-v', '-C', '1', '-W', '5']);
      assert.equal(resumed.exit, 0, resumed.output);
      assert.equal(resumed.output.trim(), 'acme/sensor-7/events kept');
    });
  });
}
