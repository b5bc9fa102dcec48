import assert from 'node:assert/strict';
import { request } from 'node:http';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ADMIN_KEY_FILE, silentLogger, startServer, type RunningServer } from '@fleetpki/server';
import { makeDevice, makeRoot } from '@fleetpki/test-support';
import { apiRequest, startTestApi, type TestApi } from './helpers/api.js';
import { base64 } from './helpers/base64.js';
import { curlIdentity, writeDeviceFiles } from './helpers/device-clients.js';
import { eventually } from './helpers/eventually.js';
import { mosquitto } from './helpers/mqtt-clients.js';
import { spawnServe } from './helpers/serve-process.js';
import { createTestStore, DIALECTS, type TestStore } from './helpers/stores.js';
import { COAP } from './helpers/transport-coap.js';

type Readiness = { ready: boolean; draining: boolean; checks: Record<string, { ok: boolean; latencyMs: number; error?: string }> };
const readyz = async (url: string) => {
  const r = await fetch(`${url}/readyz`);
  return { status: r.status, body: (await r.json()) as Readiness };
};

for (const dialect of DIALECTS) {
  describe(`liveness and readiness [${dialect}]`, () => {
    let api: TestApi;
    before(async () => {
      api = await startTestApi(dialect);
    });
    after(() => api.close());

    it('GET /healthz and GET /readyz answer without a key: every check, its latency, 200', async () => {
      const live = await fetch(`${api.server.httpUrl}/healthz`);
      assert.equal(live.status, 200);
      assert.deepEqual(await live.json(), { status: 'ok' });
      const { status, body } = await readyz(api.server.httpUrl);
      assert.equal(status, 200, JSON.stringify(body));
      assert.equal(body.ready, true);
      assert.equal(body.draining, false);
      const expected = ['store', 'migrations', 'masterKey', 'remoteSigners', ...(dialect === 'sqlite' ? ['issuanceWriter'] : [])];
      assert.deepEqual(Object.keys(body.checks).sort(), expected.sort());
      for (const [name, check] of Object.entries(body.checks)) {
        assert.equal(check.ok, true, `${name}: ${check.error}`);
        assert.ok(check.latencyMs >= 0 && check.latencyMs < 1000, `${name}: ${check.latencyMs} ms`);
      }
    });
  });
}

/** A TCP relay to PostgreSQL that a test can stop (every connection cut, nothing listening) and start again on the same port. */
class StoppableRelay {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  async start(): Promise<void> {
    if (this.server) return;
    this.server = createServer((client) => {
      const upstream = connect(this.target.port, this.target.host);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => socket.destroy());
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    const listening = this.server;
    await new Promise<void>((resolve, reject) => {
      listening.once('error', reject);
      listening.listen(this.port, '127.0.0.1', () => resolve());
    });
    const address = listening.address();
    if (address && typeof address === 'object') this.port = address.port;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = undefined;
  }
}

describe('readiness follows PostgreSQL going away and coming back, without a restart', () => {
  let store: TestStore;
  let relay: StoppableRelay;
  let server: RunningServer;

  before(async () => {
    store = await createTestStore('postgres');
    const direct = new URL(store.database as string);
    relay = new StoppableRelay({ host: direct.hostname, port: Number(direct.port || 5432) });
    await relay.start();
    const viaRelay = new URL(direct);
    viaRelay.port = String(relay.port);
    server = await startServer({ dataDir: store.dataDir, database: viaRelay.toString(), httpPort: 0, gatewayPort: 0, mqttPort: 0, coapPort: 0, logger: silentLogger, announce: () => {} });
  });
  after(async () => {
    await relay.start().catch(() => {}); // so the server can close its pool cleanly
    await server.close();
    await relay.stop();
    await store.cleanup();
  });

  it('503 within a second of the database stopping, 200 again once it is back', async () => {
    assert.equal((await readyz(server.httpUrl)).status, 200);
    await relay.stop();
    const stoppedAt = Date.now();
    const down = await readyz(server.httpUrl);
    assert.equal(down.status, 503, JSON.stringify(down.body));
    assert.ok(Date.now() - stoppedAt < 1_500, `answered after ${Date.now() - stoppedAt} ms`);
    assert.equal(down.body.checks['store']?.ok, false);
    assert.equal(down.body.checks['masterKey']?.ok, true);
    await relay.start();
    const back = await eventually(() => readyz(server.httpUrl), (r) => r.status === 200, 5_000);
    assert.equal(back.status, 200, JSON.stringify(back.body));
  });
});

describe('fleetpki serve on SIGTERM: drain, then a bounded, quiet stop', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fleetpki-drain-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('/readyz turns 503 (draining) at once while a request in flight still finishes; the process exits when the drain ends', async () => {
    const served = await spawnServe(['--data-dir', join(dir, 'drain'), '--drain-seconds', '2']);
    const key = readFileSync(join(dir, 'drain', ADMIN_KEY_FILE), 'utf8').trim();
    assert.equal((await readyz(served.url)).status, 200);
    // A request whose body is still arriving when the signal comes.
    const port = new URL(served.url).port;
    const body = JSON.stringify({ name: 'Late', slug: 'late' });
    const inFlight = new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/v1/projects', method: 'POST', headers: { 'x-api-key': key, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.write(body.slice(0, 10));
      setTimeout(() => req.end(body.slice(10)), 1_000);
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const signalledAt = Date.now();
    const stopped = served.stop('SIGTERM');
    const draining = await eventually(() => readyz(served.url), (r) => r.status === 503, 1_000);
    assert.equal(draining.status, 503);
    assert.equal(draining.body.draining, true);
    assert.equal(await inFlight, 201);
    assert.equal((await apiRequest('GET', `${served.url}/v1/projects/late`, key)).status, 200, 'still serving while draining');
    const exit = await stopped;
    const tookMs = Date.now() - signalledAt;
    assert.equal(exit.code, 0);
    assert.ok(tookMs >= 2_000 && tookMs < 6_000, `stopped after ${tookMs} ms`);
    assert.deepEqual(
      served.logs.filter((l) => l.level === 'error').map((l) => l.msg),
      [],
    );
  });

  it('after serving an HTTPS, an MQTT and a CoAP device, SIGTERM with no drain stops in under 3 s and logs no error', async () => {
    const served = await spawnServe(['--data-dir', join(dir, 'quick'), '--drain-seconds', '0']);
    const key = readFileSync(join(dir, 'quick', ADMIN_KEY_FILE), 'utf8').trim();
    const root = makeRoot('/CN=Quick Root');
    const device = makeDevice(root, '/O=quick/CN=quick-1');
    assert.equal((await apiRequest('POST', `${served.url}/v1/projects`, key, { json: { name: 'Quick', slug: 'quick' } })).status, 201);
    assert.equal((await apiRequest('POST', `${served.url}/v1/projects/quick/certificates`, key, { json: { certFile: base64(root.pem) } })).status, 201);
    const files = writeDeviceFiles(dir, 'quick-1', device.pem, device.keyPem);
    const serverCa = join(dir, 'quick-server-ca.pem');
    writeFileSync(serverCa, await (await fetch(`${served.url}/v1/server-ca`)).text());
    assert.equal((await curlIdentity(served.gatewayUrl, serverCa, files)).status, 200);
    assert.equal((await mosquitto('mosquitto_pub', served.mqttUrl, serverCa, files, ['-i', 'quick-1', '-t', 'quick/quick-1/hello', '-m', 'hi'])).exit, 0);
    const coap = await COAP.clients[0].attempt({ urls: { gatewayUrl: served.gatewayUrl, mqttUrl: served.mqttUrl, coapUrl: served.coapUrl }, serverCaFile: serverCa }, files);
    assert.equal(coap.admitted, true, coap.output);
    const signalledAt = Date.now();
    const exit = await served.stop('SIGTERM');
    const tookMs = Date.now() - signalledAt;
    assert.equal(exit.code, 0);
    assert.ok(tookMs < 3_000, `stopped after ${tookMs} ms`);
    assert.deepEqual(
      served.logs.filter((l) => l.level === 'error').map((l) => l.msg),
      [],
    );
  });
});
