import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { connect as tcpConnect } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { makeDevice, makeRoot } from '@fleetpki/test-support';
import { AuthenticationJournal } from '../src/domain/identity/authentication-journal.js';
import { ConnectionReview } from '../src/domain/identity/index.js';
import { RevocationSets } from '../src/domain/revocation/index.js';
import { ConnectionEnforcer } from '../src/gateway/connection-enforcer.js';
import { ConnectionRegistry } from '../src/gateway/connection-registry.js';
import { startTestApi, type TestApi } from './helpers/api.js';
import { base64 } from './helpers/base64.js';
import { curlIdentity, holdConnection, writeDeviceFiles } from './helpers/device-clients.js';
import { eventually } from './helpers/eventually.js';
import { mosquitto, rawMqttSession } from './helpers/mqtt-clients.js';

/** Regressions from the gateway review: each a way in, a way to stay, or a way to hurt. */
describe('gateway hardening', () => {
  let api: TestApi;
  let serverCaPem: string;
  let serverCa: string;
  const acmeRoot = makeRoot('/CN=Acme Hardening Root');
  const evilRoot = makeRoot('/CN=Evil Root');

  before(async () => {
    api = await startTestApi('sqlite');
    for (const [slug, root] of [['acme', acmeRoot], ['evil', evilRoot]] as const) {
      assert.equal((await api.call('POST', '/v1/projects', { json: { name: slug, slug } })).status, 201);
      assert.equal((await api.call('POST', `/v1/projects/${slug}/certificates`, { json: { certFile: base64(root.pem) } })).status, 201);
    }
    serverCaPem = (await api.call('GET', '/v1/server-ca', { key: null })).text;
    serverCa = join(api.store.dataDir, 'server-ca.pem');
    writeFileSync(serverCa, serverCaPem);
  });
  after(() => api.close());

  it('a device of another project with the same certificate ID cannot take over an MQTT session', async () => {
    const victim = makeDevice(acmeRoot, '/O=acme/CN=twin-7');
    const session = await rawMqttSession(api.server.mqttUrl, serverCaPem, victim.pem, victim.keyPem, 'twin-7');
    assert.equal(session.returnCode, 0);
    const twin = makeDevice(evilRoot, '/O=evil/CN=twin-7');
    const files = writeDeviceFiles(api.store.dataDir, 'evil-twin-7', twin.pem, twin.keyPem);
    const pub = await mosquitto('mosquitto_pub', api.server.mqttUrl, serverCa, files, ['-i', 'twin-7', '-t', 'evil/twin-7/x', '-m', '1']);
    assert.equal(pub.exit, 0, pub.output);
    const closedAt = await Promise.race([session.closed, new Promise<number>((resolve) => setTimeout(() => resolve(-1), 800))]);
    assert.equal(closedAt, -1, 'acme’s session is still open');
    session.socket.destroy();
  });

  it('a connection registered after a change it was authenticated before is still re-checked', async () => {
    const registry = new ConnectionRegistry();
    const reasons: string[] = [];
    const logger = { log: (_level: string, msg: string, fields?: Readonly<Record<string, unknown>>) => void (msg === 'ending a device connection' && reasons.push(String(fields?.['reason']))) };
    const deps = { db: api.server.store.db, now: () => new Date() };
    const enforcer = new ConnectionEnforcer(deps, new ConnectionReview(deps, new RevocationSets(deps.db)), registry, logger);
    const made = await api.call('POST', '/v1/projects/acme/devices', { json: { name: 'late-1', certificateId: 'late-1' } });
    const project = await api.server.store.db.selectFrom('projects').selectAll().where('slug', '=', 'acme').executeTakeFirstOrThrow();
    const caId = (await api.call('GET', '/v1/projects/acme/certificates')).body['list'][0].id as string;
    // Authenticated under generation g; the device is disabled (g + 1); only then registered.
    const generation = Number(project.auth_generation);
    await api.call('PATCH', `/v1/projects/acme/devices/${made.body['id']}`, { json: { enabled: false } });
    let closed = false;
    const socket = new EventEmitter();
    registry.add(
      { projectId: 'acme', projectKey: project.id, certificateId: 'late-1', deviceId: made.body['id'], deviceName: 'late-1', provisioning: 'existing', anchorCaId: caId, credential: 'certificate', fingerprintSha256: '', authGeneration: generation, validUntil: Date.now() + 60_000, path: [], certificate: { fingerprintSha256: '', notAfter: '', renewAfter: '' }, certificateNotBefore: 0 },
      'https',
      { destroy: () => ((closed = true), socket.emit('close')) },
      socket,
    );
    enforcer.start();
    try {
      await eventually(() => Promise.resolve(closed), (done) => done, 2000);
      assert.equal(closed, true);
      assert.deepEqual(reasons, ['device disabled or deleted']);
      assert.equal(registry.size, 0, 'the closed connection left the registry');
    } finally {
      enforcer.stop();
    }
  });

  it('the enforcer polls the counters of the projects holding connections only, not of every project', async () => {
    for (let i = 0; i < 20; i++) assert.equal((await api.call('POST', '/v1/projects', { json: { name: `idle-${i}`, slug: `idle-${i}` } })).status, 201);
    const registry = new ConnectionRegistry();
    const deps = { db: api.server.store.db, now: () => new Date() };
    const asked: string[][] = [];
    const review = new (class extends ConnectionReview {
      override generations(projectKeys: readonly string[]) {
        asked.push([...projectKeys]);
        return super.generations(projectKeys);
      }
    })(deps, new RevocationSets(deps.db));
    const enforcer = new ConnectionEnforcer(deps, review, registry, { log: () => {} });
    enforcer.start();
    try {
      await new Promise((resolve) => setTimeout(resolve, 700));
      assert.deepEqual(asked, [], 'no connections: no query');
      const project = await deps.db.selectFrom('projects').selectAll().where('slug', '=', 'acme').executeTakeFirstOrThrow();
      const made = await api.call('POST', '/v1/projects/acme/devices', { json: { name: 'polled-1', certificateId: 'polled-1' } });
      registry.add(
        { projectId: 'acme', projectKey: project.id, certificateId: 'polled-1', deviceId: made.body['id'], deviceName: 'polled-1', provisioning: 'existing', anchorCaId: '', credential: 'certificate', fingerprintSha256: '', authGeneration: Number(project.auth_generation), validUntil: Date.now() + 60_000, path: [], certificate: { fingerprintSha256: '', notAfter: '', renewAfter: '' }, certificateNotBefore: 0 },
        'https',
        { destroy: () => {} },
        new EventEmitter(),
      );
      await eventually(() => Promise.resolve(asked.length), (n) => n >= 2, 2000);
      assert.ok(asked.length >= 2);
      for (const keys of asked) assert.deepEqual(keys, [project.id], 'one project asked about, of the 22 in the store');
    } finally {
      enforcer.stop();
    }
  });

  it('ends a connection when its certificate expires', async () => {
    const shortLived = makeDevice(acmeRoot, '/O=acme/CN=mayfly-1', { from: new Date(Date.now() - 1000), days: 3 / 86_400 });
    const held = await holdConnection(api.server.gatewayUrl, serverCaPem, shortLived.pem, shortLived.keyPem);
    assert.equal(held.identity['certificateId'], 'mayfly-1');
    const lifetime = await held.closedAfter(Date.now(), 6000);
    assert.ok(lifetime < 4000, `closed after ${lifetime} ms`);
  });

  it('a refused connection gets its answer and is closed', async () => {
    const stranger = makeDevice(makeRoot('/CN=Nobody'), '/O=acme/CN=nobody-1');
    const held = await holdConnection(api.server.gatewayUrl, serverCaPem, stranger.pem, stranger.keyPem);
    assert.equal(held.identity['code'], 'UNKNOWN_ISSUER');
    assert.ok((await held.closedAfter(Date.now(), 2000)) < 2000);
  });

  it('audits at most 20 refusals per address per minute, and says how many it left out', async () => {
    const before = (await api.call('GET', '/v1/audit?perPage=500')).body['list'].filter((e: { details: { code?: string } }) => e.details.code === 'NO_CLIENT_CERTIFICATE').length;
    for (let i = 0; i < 25; i++) assert.equal((await curlIdentity(api.server.gatewayUrl, serverCa, undefined)).status, 401);
    const events = await eventually(
      async () => (await api.call('GET', '/v1/audit?perPage=500')).body['list'].filter((e: { details: { code?: string } }) => e.details.code === 'NO_CLIENT_CERTIFICATE'),
      (list: unknown[]) => list.length >= Math.min(20, before + 25),
    );
    assert.ok(events.length <= 20, `${events.length} refusals audited`);
  });

  it('shutdown ends sockets that never finished their handshake', async () => {
    const other = await startTestApi('sqlite');
    const ports = [other.server.gatewayUrl, other.server.mqttUrl].map((url) => Number(new URL(url.replace('mqtts:', 'https:')).port));
    const idle = ports.map((port) => tcpConnect({ host: '127.0.0.1', port }));
    await Promise.all(idle.map((socket) => new Promise((resolve) => socket.once('connect', resolve))));
    const started = Date.now();
    await other.close();
    assert.ok(Date.now() - started < 3000, `shutdown took ${Date.now() - started} ms`);
    for (const socket of idle) socket.destroy();
  });

  it('the journal keeps a batch whose write failed and writes it on retry', async () => {
    const db = api.server.store.db;
    const errors: string[] = [];
    const journal = new AuthenticationJournal(db, (error) => errors.push(error.message));
    const count = async (): Promise<number> => Number((await db.selectFrom('audit_events').select((eb) => eb.fn.countAll<number>().as('n')).where('actor', '=', 'journal-test').executeTakeFirstOrThrow()).n);
    await sql`ALTER TABLE audit_events RENAME TO audit_events_away`.execute(db);
    try {
      for (let i = 0; i < 5; i++) journal.record({ at: new Date(), entry: { actor: 'journal-test', action: 'device.authenticate', targetType: 'device', targetId: `d${i}`, projectId: null } });
      await journal.flush();
      assert.equal(errors.length, 1);
    } finally {
      await sql`ALTER TABLE audit_events_away RENAME TO audit_events`.execute(db);
    }
    assert.equal(await eventually(count, (n) => n === 5, 3000), 5);
  });
});
