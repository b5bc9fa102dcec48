import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { tempDir } from '@fleetpki/test-support';
import { CLI_BIN, errorCode, fleetpkiAsync } from './helpers/cli.js';
import { serveChild, type ServeChild } from './helpers/serve-child.js';

const run = promisify(execFile);
const PSK = 'correct horse battery staple';
/** Enough sealed values that a re-seal takes a while, so kills land inside it as well as around it. */
const PSK_DEVICES = 1500;

interface Census {
  source: string;
  ring: string[];
  census: { total: number; byKey: Record<string, number>; unopenable: { column: string; id: string }[] };
}

/**
 * Issue 18, 5 with the real CLI and a real server: `fleetpki master-key rotate` while the server
 * issues certificates and serves PSK devices over CoAP (libcoap's client), and a SIGKILL of the
 * rotation at random points, after each of which every sealed value must open with master.key.
 */
describe('fleetpki master-key rotate', () => {
  const tmp = tempDir('master-key');
  const dir = tmp.dir;
  const dataDir = join(dir, 'data');
  const cli = (args: readonly string[], env: Readonly<Record<string, string>> = {}) => fleetpkiAsync(args, { cwd: dir, env });
  let server: ServeChild;
  let key = '';
  const api = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`${server.url}${path}`, { method, headers: { 'x-api-key': key, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: r.status, body: (await r.json().catch(() => ({}))) as Record<string, unknown> };
  };
  const start = async () => {
    server = await serveChild(['--data-dir', dataDir, '--drain-seconds', '0']);
    key = readFileSync(join(dataDir, 'admin-api-key'), 'utf8').trim();
  };
  const pskDevice = async (name: string) => {
    const made = await api('POST', '/v1/projects/vault/devices', { name });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const credential = await api('POST', `/v1/projects/vault/devices/${made.body['id'] as string}/credentials`, { type: 'PRE_SHARED_KEY', identity: `${name}@vault`, preSharedKey: PSK });
    assert.equal(credential.status, 201, JSON.stringify(credential.body));
  };
  /** A PSK handshake and an identity answer over CoAP: the device's name, or '' when it failed. */
  const pskIdentity = async (name: string): Promise<string> => {
    const r = await run('coap-client-openssl', ['-m', 'get', '-B', '8', '-u', `${name}@vault`, '-k', PSK, `${server.coapUrl}/v1/device/identity`], { encoding: 'utf8', timeout: 15_000 }).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }));
    const json = /\{.*\}/s.exec(r.stdout)?.[0];
    return json ? ((JSON.parse(json) as { deviceName?: string }).deviceName ?? '') : '';
  };
  const issue = async () => api('POST', '/v1/projects/vault/pki/issue', { csr: readFileSync(join(dir, 'd.csr.pem')).toString('base64'), days: 30 });
  const status = async (): Promise<Census> => {
    const r = await cli(['master-key', 'status', '--data-dir', dataDir, '--json']);
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as Census;
  };
  const ringFileKeys = () => readFileSync(join(dataDir, 'master.key'), 'utf8').trim().split('\n').length;

  before(async () => {
    await start();
    assert.equal((await api('POST', '/v1/projects', { name: 'Vault', slug: 'vault' })).status, 201);
    assert.equal((await api('POST', '/v1/projects/vault/pki/cas', { mode: 'generate', profile: { defaultDays: 30, maxDays: 90 } })).status, 201);
    assert.equal((await cli(['key', 'create', '--out', 'd.key.pem'])).status, 0);
    assert.equal((await cli(['csr', 'create', '--key', 'd.key.pem', '--project', 'vault', '--id', 'issued-1', '--out', 'd.csr.pem'])).status, 0);
    let next = 0;
    await Promise.all(Array.from({ length: 16 }, async () => {
      while (next < PSK_DEVICES) await pskDevice(`psk-${next++}`);
    }));
  });
  after(async () => {
    await server.stop();
    tmp.cleanup();
  });

  it('rotates while the server issues certificates, serves PSK devices and seals new PSKs: nothing fails, every value ends under the new key', async () => {
    const before = await status();
    assert.equal(before.ring.length, 1);
    assert.equal(before.census.total, PSK_DEVICES + 2, 'every PSK, the CA key and the check value');
    const oldKey = before.ring[0] as string;

    let rotating = true;
    const failures: string[] = [];
    const counts = { issued: 0, handshakes: 0, created: 0 };
    const issuing = (async () => {
      while (rotating) {
        const r = await issue();
        if (r.status === 201) counts.issued += 1;
        else failures.push(`issue: ${r.status} ${JSON.stringify(r.body)}`);
      }
    })();
    const handshaking = Array.from({ length: 2 }, async (_, lane) => {
      for (let i = lane; rotating; i += 2) {
        const name = `psk-${(i * 37) % PSK_DEVICES}`;
        if ((await pskIdentity(name)) === name) counts.handshakes += 1;
        else failures.push(`PSK handshake of ${name}`);
      }
    });
    const created: string[] = [];
    const creating = (async () => {
      while (rotating) {
        const name = `during-${created.length}`;
        await pskDevice(name);
        created.push(name);
        counts.created += 1;
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const rotation = await cli(['master-key', 'rotate', '--data-dir', dataDir, '--json']);
    await new Promise((resolve) => setTimeout(resolve, 300));
    rotating = false;
    await Promise.all([issuing, creating, ...handshaking]);

    assert.equal(rotation.status, 0, rotation.stderr);
    const summary = JSON.parse(rotation.stdout) as { added: string; current: string; resealed: number; stragglers: number; retired: string[] };
    assert.match(summary.added, /^[0-9a-f]{16}$/);
    assert.equal(summary.current, summary.added);
    assert.deepEqual(summary.retired, [oldKey]);
    assert.ok(summary.resealed >= PSK_DEVICES + 2, `re-sealed ${summary.resealed}`);
    assert.deepEqual(failures, []);
    assert.ok(counts.issued > 0 && counts.handshakes > 0 && counts.created > 0, JSON.stringify(counts));

    assert.equal(ringFileKeys(), 1, 'the old key left master.key');
    const afterwards = await status();
    assert.deepEqual(afterwards.ring, [summary.current]);
    assert.deepEqual(afterwards.census.byKey, { [summary.current]: PSK_DEVICES + 2 + created.length });
    assert.deepEqual(afterwards.census.unopenable, []);
    for (const name of created.slice(-3)) assert.equal(await pskIdentity(name), name, `${name}, sealed during the rotation, handshakes`);

    // A restarted server has only the new key: it opens the re-sealed CA key and PSKs.
    assert.equal(await server.stop(), 0);
    await start();
    assert.equal((await issue()).status, 201);
    assert.equal(await pskIdentity('psk-7'), 'psk-7');
  });

  it('a SIGKILL at random points of a rotation always leaves every sealed value openable, and the next rotate finishes it', async () => {
    assert.equal(await server.stop(), 0);
    const expected = (await status()).census.total;
    const rotate = (killAfterMs?: number) =>
      new Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>((resolve) => {
        const began = Date.now();
        const child = spawn(process.execPath, [CLI_BIN, 'master-key', 'rotate', '--data-dir', dataDir, '--settle-ms', '200', '--json'], { stdio: 'ignore' });
        const timer = killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
        child.once('exit', (code, signal) => {
          clearTimeout(timer);
          resolve({ code, signal, ms: Date.now() - began });
        });
      });
    const whole = await rotate();
    assert.equal(whole.code, 0);
    const states = new Map<string, number>();
    const kills = 12;
    for (let i = 0; i < kills; i += 1) {
      // Stratified: one random point in each twelfth of a whole run, so every phase gets its kills.
      const killAt = Math.floor(((i + Math.random()) / kills) * whole.ms);
      const outcome = await rotate(killAt);
      const census = await status();
      assert.deepEqual(census.census.unopenable, [], `killed after ${killAt} ms: every value opens`);
      assert.equal(census.census.total, expected);
      assert.equal(census.ring.length, ringFileKeys());
      // One transaction: the values are all under one key, never some under each.
      const under = Object.keys(census.census.byKey);
      assert.equal(under.length, 1, `killed after ${killAt} ms: values under ${under.join(', ')}`);
      const state = `${outcome.signal ?? 'exited'}: ${census.ring.length} key(s) in master.key, values under ${under[0] === census.ring[0] ? 'its first (new) key' : 'an older key'}`;
      states.set(state, (states.get(state) ?? 0) + 1);
    }
    for (const [state, n] of states) process.stdout.write(`# ${n} × ${state}\n`);
    const last = await cli(['master-key', 'rotate', '--data-dir', dataDir, '--settle-ms', '0', '--json']);
    assert.equal(last.status, 0, last.stderr);
    const final = await status();
    assert.equal(final.ring.length, 1);
    assert.deepEqual(final.census.byKey, { [final.ring[0] as string]: expected });
    await start();
    assert.equal((await issue()).status, 201);
    assert.equal(await pskIdentity('psk-11'), 'psk-11');
  });

  it('refuses, with codes and nothing changed: a ring that does not open the store, a rotation of FLEETPKI_MASTER_KEY, a data directory with no key', async () => {
    const keyFile = readFileSync(join(dataDir, 'master.key'));
    const stranger = join(dir, 'stranger');
    writeFileSync(join(dir, 'other.key'), `${Buffer.alloc(32, 7).toString('base64')}\n`, { mode: 0o600 });
    const mismatch = await cli(['master-key', 'rotate', '--data-dir', dataDir], { FLEETPKI_MASTER_KEY: Buffer.alloc(32, 7).toString('hex') });
    assert.equal(errorCode(mismatch.stderr), 'MASTER_KEY_IN_ENVIRONMENT');
    assert.equal(mismatch.status, 2);
    const wrongRing = await cli(['master-key', 'reseal', '--data-dir', dataDir], { FLEETPKI_MASTER_KEY: Buffer.alloc(32, 7).toString('hex') });
    assert.equal(errorCode(wrongRing.stderr), 'MASTER_KEY_MISMATCH');
    assert.equal(wrongRing.status, 4);
    const none = await cli(['master-key', 'status', '--data-dir', stranger]);
    assert.equal(errorCode(none.stderr), 'INVALID_OPTION');
    assert.deepEqual(readFileSync(join(dataDir, 'master.key')), keyFile);
    assert.deepEqual((await status()).census.unopenable, []);
  });

  it('one key-changing command at a time: a lock held by a running process refuses with MASTER_KEY_BUSY; once it is gone, rotate runs and leaves no lock', async () => {
    const keyFile = readFileSync(join(dataDir, 'master.key'));
    const holder = spawn('sleep', ['30'], { stdio: 'ignore' });
    const lock = join(dataDir, 'master-key.lock');
    try {
      writeFileSync(lock, `${holder.pid}\n`, { mode: 0o600 });
      for (const command of ['rotate', 'reseal', 'add']) {
        const busy = await cli(['master-key', command, '--data-dir', dataDir]);
        assert.equal(errorCode(busy.stderr), 'MASTER_KEY_BUSY', command);
        assert.equal(busy.status, 7);
      }
      assert.deepEqual(readFileSync(join(dataDir, 'master.key')), keyFile, 'the key file untouched');
      assert.equal(existsSync(lock), true, 'the holder keeps its lock');
      const read = await cli(['master-key', 'status', '--data-dir', dataDir, '--json']);
      assert.equal(read.status, 0, 'status only reads: no lock needed');
    } finally {
      holder.kill('SIGKILL');
      await new Promise((resolve) => holder.once('exit', resolve));
    }
    // The holder is gone (as after a SIGKILL): its lock is taken over.
    const rotation = await cli(['master-key', 'rotate', '--data-dir', dataDir, '--settle-ms', '0', '--json']);
    assert.equal(rotation.status, 0, rotation.stderr);
    assert.equal(existsSync(lock), false);
    assert.deepEqual((await status()).census.unopenable, []);
  });
});
