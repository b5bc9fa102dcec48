import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ADMIN_KEY_FILE, MASTER_KEY_FILE, ROOT_CERT_FILE, ROOT_KEY_FILE } from '@fleetpki/server';
import { makeDevice, makeRoot, type Issued } from '@fleetpki/test-support';
import { apiRequest } from './helpers/api.js';
import { base64 } from './helpers/base64.js';
import { writeDeviceFiles, type DeviceFiles } from './helpers/device-clients.js';
import { eventually } from './helpers/eventually.js';
import { freePort } from './helpers/free-port.js';
import { FLEETPKI_BIN } from './helpers/serve-process.js';
import { createTestStore, type TestStore } from './helpers/stores.js';

const run = promisify(execFile);
const HAPROXY = existsSync('/usr/sbin/haproxy') ? '/usr/sbin/haproxy' : 'haproxy';
const DEVICES = 6;

interface Node {
  readonly name: string;
  readonly child: ChildProcess;
  readonly http: number;
  readonly gateway: number;
  readonly mqtt: number;
  readonly metrics: number;
}

/**
 * Issue 19, 4, the deployment docs/operating.md describes: three `fleetpki serve --workers 2` on
 * one PostgreSQL behind HAProxy in TCP mode (Debian's), health-checking each node's /readyz.
 * Devices (curl, mosquitto_sub) connect through it; the same new device racing through every
 * node is created once; one node is SIGKILLed with its workers, HAProxy marks it down, and its
 * MQTT devices reconnect through the others with every device still there; a device disabled,
 * or its certificate revoked, through one node loses its connection on any node within a second.
 */
describe('three nodes on one PostgreSQL behind HAProxy (TCP)', { timeout: 180_000 }, () => {
  let store: TestStore;
  const dirs: string[] = [];
  const nodes: Node[] = [];
  const subscribers: ChildProcess[] = [];
  let haproxy: ChildProcess | undefined;
  let stopping = false;
  /** Per device: how often its connection was lost (and made again), and when last. */
  const reconnects = new Map<string, number>();
  const lostAt = new Map<string, number>();
  let key = '';
  let balancedGateway = 0;
  let balancedMqtt = 0;
  let serverCa = '';
  const root = makeRoot('/CN=Balanced Root');
  const devices: { name: string; issued: Issued; files: DeviceFiles }[] = [];

  const startNode = async (name: string, dataDir: string): Promise<Node> => {
    const [http, gateway, mqtt, coap, metrics] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
    const log = join(dataDir, 'serve.log');
    // Its own process group: a SIGKILL to the group is the node's machine going away, workers and all.
    const child = spawn(
      process.execPath,
      [FLEETPKI_BIN, 'serve', '--data-dir', dataDir, '--database', store.database as string, '--workers', '2', '--http-port', String(http), '--gateway-port', String(gateway), '--mqtt-port', String(mqtt), '--coap-port', String(coap), '--metrics-port', String(metrics), '--drain-seconds', '0'],
      { stdio: ['ignore', openSync(log, 'w'), 'ignore'], detached: true },
    );
    await eventually(
      () => Promise.resolve(existsSync(log) ? readFileSync(log, 'utf8').split('management API listening').length - 1 : 0),
      (n) => n >= 2,
      30_000,
    );
    return { name, child, http, gateway, mqtt, metrics };
  };
  const killGroup = (node: Node) => {
    try {
      process.kill(-(node.child.pid as number), 'SIGKILL');
    } catch {
      // already gone
    }
  };
  const mqttConnections = async (node: Node): Promise<number> => {
    const text = await (await fetch(`http://127.0.0.1:${node.metrics}/metrics`)).text();
    return Number(/^fleetpki_device_connections\{transport="mqtt"\} (\d+)$/m.exec(text)?.[1] ?? 0);
  };
  const identity = async (files: DeviceFiles) => {
    const { stdout } = await run('curl', ['-sS', '--cacert', serverCa, '--cert', files.cert, '--key', files.key, `https://localhost:${balancedGateway}/v1/device/identity`]);
    return JSON.parse(stdout) as { deviceId: string; certificateId: string; provisioning: string };
  };

  before(async () => {
    store = await createTestStore('postgres');
    const first = await startNode('n1', store.dataDir);
    nodes.push(first);
    key = readFileSync(join(store.dataDir, ADMIN_KEY_FILE), 'utf8').trim();
    for (const name of ['n2', 'n3']) {
      const dir = mkdtempSync(join(tmpdir(), `fleetpki-${name}-`));
      dirs.push(dir);
      for (const file of [ROOT_CERT_FILE, ROOT_KEY_FILE, MASTER_KEY_FILE]) cpSync(join(store.dataDir, file), join(dir, file));
      nodes.push(await startNode(name, dir));
    }
    serverCa = join(store.dataDir, ROOT_CERT_FILE);
    [balancedGateway, balancedMqtt] = [await freePort(), await freePort()];
    const backend = (port: (n: Node) => number) => nodes.map((n) => `  server ${n.name} 127.0.0.1:${port(n)} check port ${n.http} inter 300 fall 2 rise 2`).join('\n');
    const config = join(store.dataDir, 'haproxy.cfg');
    writeFileSync(
      config,
      `global\n  maxconn 4096\ndefaults\n  mode tcp\n  timeout connect 2s\n  timeout client 60s\n  timeout server 60s\n  retries 3\n  option redispatch\n` +
        `frontend devices_https\n  bind 127.0.0.1:${balancedGateway}\n  default_backend gateways\n` +
        `frontend devices_mqtt\n  bind 127.0.0.1:${balancedMqtt}\n  default_backend brokers\n` +
        `backend gateways\n  balance roundrobin\n  option httpchk\n  http-check send meth GET uri /readyz ver HTTP/1.1 hdr Host localhost\n  http-check expect status 200\n${backend((n) => n.gateway)}\n` +
        `backend brokers\n  balance roundrobin\n  option httpchk\n  http-check send meth GET uri /readyz ver HTTP/1.1 hdr Host localhost\n  http-check expect status 200\n${backend((n) => n.mqtt)}\n`,
    );
    await run(HAPROXY, ['-c', '-f', config]);
    haproxy = spawn(HAPROXY, ['-db', '-f', config], { stdio: ['ignore', 'ignore', openSync(join(store.dataDir, 'haproxy.log'), 'w')] });
    assert.equal((await apiRequest('POST', `http://127.0.0.1:${first.http}/v1/projects`, key, { json: { name: 'Balanced', slug: 'balanced' } })).status, 201);
    assert.equal((await apiRequest('POST', `http://127.0.0.1:${first.http}/v1/projects/balanced/certificates`, key, { json: { certFile: base64(root.pem) } })).status, 201);
    for (let i = 0; i < DEVICES; i++) {
      const issued = makeDevice(root, `/O=balanced/CN=unit-${i}`);
      devices.push({ name: `unit-${i}`, issued, files: writeDeviceFiles(store.dataDir, `unit-${i}`, issued.pem, issued.keyPem) });
    }
    // HAProxy has health-checked every node up.
    const ready = await eventually(() => identity(devices[0]!.files).catch((error: Error) => ({ certificateId: error.message })), (answer) => answer.certificateId === 'unit-0', 10_000);
    assert.equal(ready.certificateId, 'unit-0', 'HAProxy serves once its health checks pass');
  });
  after(async () => {
    stopping = true;
    for (const subscriber of subscribers) subscriber.kill('SIGKILL');
    haproxy?.kill('SIGKILL');
    for (const node of nodes) killGroup(node);
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    await store.cleanup();
  });

  it('one new device racing through every node (HAProxy round robin) is created once', async () => {
    const answers = await Promise.all(Array.from({ length: 9 }, () => identity(devices[1]!.files)));
    assert.equal(new Set(answers.map((a) => a.deviceId)).size, 1, 'one device, whichever node answered');
    const listed = await apiRequest('GET', `http://127.0.0.1:${nodes[2]!.http}/v1/projects/balanced/devices?name=unit-1`, key);
    assert.equal(listed.body['list'].length, 1);
  });

  it('a node killed with its workers: HAProxy takes it out, its MQTT devices reconnect through the others, nothing lost', async () => {
    // Each device as its firmware behaves: mosquitto_sub exits when its connection is lost (code
    // 7), and the device connects again after a short backoff — through HAProxy, to whichever
    // node it routes to.
    const connect = (name: string, files: DeviceFiles): void => {
      const subscriber = spawn('mosquitto_sub', ['-h', 'localhost', '-p', String(balancedMqtt), '--cafile', serverCa, '--cert', files.cert, '--key', files.key, '-i', name, '-t', `balanced/${name}/#`, '-k', '5'], { stdio: 'ignore' });
      subscribers.push(subscriber);
      subscriber.once('exit', () => {
        if (stopping) return;
        lostAt.set(name, Date.now());
        reconnects.set(name, (reconnects.get(name) ?? 0) + 1);
        setTimeout(() => connect(name, files), 200).unref();
      });
    };
    for (const { name, files } of devices) connect(name, files);
    const total = async (of: readonly Node[]) => (await Promise.all(of.map(mqttConnections))).reduce((a, b) => a + b, 0);
    assert.equal(await eventually(() => total(nodes), (n) => n === DEVICES, 15_000), DEVICES, 'every device connected through HAProxy');
    // The node holding the most of them goes away.
    const counts = await Promise.all(nodes.map(mqttConnections));
    const victim = nodes[counts.indexOf(Math.max(...counts))] as Node;
    assert.ok(Math.max(...counts) > 0);
    killGroup(victim);
    const survivors = nodes.filter((n) => n !== victim);
    assert.equal(await eventually(() => total(survivors), (n) => n === DEVICES, 30_000), DEVICES, `the ${Math.max(...counts)} device(s) of ${victim.name} reconnected through the others`);
    assert.equal([...reconnects.values()].reduce((a, b) => a + b, 0), Math.max(...counts), 'exactly the devices of the killed node connected again');
    // HTTPS through HAProxy still answers every device as the device it was; the store lost nothing.
    for (const { files } of devices) {
      const answer = await identity(files);
      assert.equal(answer.provisioning, 'existing');
    }
    const listed = await apiRequest('GET', `http://127.0.0.1:${survivors[0]!.http}/v1/projects/balanced/devices?count=true`, key);
    assert.equal(listed.body['total'], DEVICES);
  });

  // Each change made through one node (the last survivor's API); the device's connection is on
  // whichever node HAProxy routed it to.
  const changes = [
    {
      what: 'disabled',
      device: 2,
      change: async (base: string, name: string) => {
        const device = (await apiRequest('GET', `${base}/v1/projects/balanced/devices?name=${name}`, key)).body['list'][0] as { id: string };
        return apiRequest('PATCH', `${base}/v1/projects/balanced/devices/${device.id}`, key, { json: { enabled: false } });
      },
    },
    {
      what: 'certificate revoked',
      device: 3,
      change: (base: string, _name: string, issued: Issued) =>
        apiRequest('POST', `${base}/v1/projects/balanced/revocations`, key, { json: { certificates: [{ fingerprintSha256: createHash('sha256').update(issued.cert.der).digest('hex') }], reason: 'keyCompromise' } }),
    },
  ] as const;
  for (const { what, device: index, change } of changes) {
    it(`a device ${what} through one node loses its connection on whichever node holds it, within a second`, async () => {
      const survivors = nodes.filter((n) => n.child.exitCode === null && n.child.signalCode === null);
      const { name, issued } = devices[index]!;
      const before = reconnects.get(name) ?? 0;
      const changedAt = Date.now();
      assert.equal((await change(`http://127.0.0.1:${survivors.at(-1)!.http}`, name, issued)).status, 200);
      await eventually(() => Promise.resolve(reconnects.get(name) ?? 0), (n) => n > before, 3000);
      assert.ok((reconnects.get(name) ?? 0) > before, 'its connection ended');
      assert.ok(lostAt.get(name)! - changedAt <= 1500, `ended ${lostAt.get(name)! - changedAt} ms after the change`);
    });
  }
});
