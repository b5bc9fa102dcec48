import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { makeDevice, makeRoot } from '@fleetpki/test-support';
import { dtlsHandshake } from './helpers/coap-clients.js';
import { writeDeviceFiles } from './helpers/device-clients.js';

/** Valgrind makes Node some 20-50 times slower: the run is bounded, and killed past this. */
const VALGRIND_LIMIT_MS = 240_000;
const FUZZ_DATAGRAMS = 300;
const PSK_HEX = Buffer.from('0123456789abcdef').toString('hex');

const dtlsServerModule = fileURLToPath(new URL('../src/gateway/dtls-server.js', import.meta.url));
const floodModule = fileURLToPath(new URL('./helpers/dtls-flood.js', import.meta.url));

/**
 * The program valgrind runs: a DtlsServer (the addon inside) that takes real handshakes from
 * openssl s_client, then garbage, then closes; its references are dropped and the GC runs the
 * addon's finalizers, so anything the addon allocated and did not free shows as a definite leak.
 */
const PROGRAM = `
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { DtlsServer } from ${JSON.stringify(dtlsServerModule)};
import { clientHello } from ${JSON.stringify(floodModule)};
const [certFile, keyFile] = process.argv.slice(2);
let server = new DtlsServer({ certChainPem: readFileSync(certFile, 'utf8'), keyPem: readFileSync(keyFile, 'utf8'), lookupPsk: async (id) => (id === 'vg@acme' ? Buffer.from('0123456789abcdef') : null) });
let sessions = 0;
server.on('session', () => sessions++);
const { port } = await server.listen(0, '127.0.0.1');
process.stdout.write(JSON.stringify({ port }) + '\\n');
await new Promise((resolve) => process.stdin.once('data', resolve));
const socket = createSocket('udp4');
await new Promise((resolve) => socket.bind(0, '127.0.0.1', resolve));
for (let i = 0; i < ${FUZZ_DATAGRAMS}; i++) {
  const hello = clientHello(randomBytes(32));
  const junk = i % 3 === 0 ? hello : i % 3 === 1 ? Buffer.concat([hello.subarray(0, i % hello.length), randomBytes(i % 50)]) : randomBytes(1 + (i % 200));
  await new Promise((resolve) => socket.send(junk, port, '127.0.0.1', resolve));
}
await new Promise((resolve) => setTimeout(resolve, 1000));
socket.close();
await server.close();
server = undefined;
for (let i = 0; i < 4; i++) {
  globalThis.gc();
  await new Promise((resolve) => setImmediate(resolve));
}
process.stdout.write(JSON.stringify({ sessions }) + '\\n');
`;

describe('DTLS addon under valgrind', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fleetpki-valgrind-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('real certificate and PSK handshakes and garbage datagrams: no invalid reads or writes, no definite leaks from the addon', async (t) => {
    const root = makeRoot('/CN=Valgrind Root');
    const server = makeDevice(root, '/O=acme/CN=server');
    const serverFiles = writeDeviceFiles(dir, 'server', server.pem, server.keyPem);
    const client = makeDevice(root, '/O=acme/CN=vg-client');
    const clientFiles = writeDeviceFiles(dir, 'vg-client', client.pem, client.keyPem);
    writeFileSync(join(dir, 'program.mjs'), PROGRAM);
    const log = join(dir, 'valgrind.log');
    const child = spawn(
      'valgrind',
      ['--leak-check=full', '--show-leak-kinds=definite', `--log-file=${log}`, process.execPath, '--jitless', '--expose-gc', join(dir, 'program.mjs'), serverFiles.cert, serverFiles.key],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    const killer = setTimeout(() => child.kill('SIGKILL'), VALGRIND_LIMIT_MS);
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
    try {
      while (!out.includes('\n')) {
        await new Promise((r) => setTimeout(r, 100));
        assert.equal(child.exitCode, null, 'valgrind exited early');
      }
      const { port } = JSON.parse(out.split('\n')[0] as string) as { port: number };
      const url = `coaps://127.0.0.1:${port}`;
      const cert = await dtlsHandshake(url, ['-cert', clientFiles.cert, '-key', clientFiles.key, '-cipher', 'ECDHE-ECDSA-AES128-CCM8'], {}, 60_000);
      assert.equal(cert.cipher, 'ECDHE-ECDSA-AES128-CCM8', cert.output);
      const psk = await dtlsHandshake(url, ['-psk_identity', 'vg@acme', '-psk', PSK_HEX, '-cipher', 'PSK-AES128-GCM-SHA256'], {}, 60_000);
      assert.equal(psk.cipher, 'PSK-AES128-GCM-SHA256', psk.output);
      const unknown = await dtlsHandshake(url, ['-psk_identity', 'nobody@acme', '-psk', PSK_HEX, '-cipher', 'PSK-AES128-CCM'], {}, 60_000);
      assert.equal(unknown.cipher, '', unknown.output);
      child.stdin.end('go\n');
      assert.equal(await exited, 0);
    } finally {
      clearTimeout(killer);
      child.kill('SIGKILL');
    }
    const result = JSON.parse(out.trim().split('\n').pop() as string) as { sessions: number };
    assert.equal(result.sessions, 2);
    const report = readFileSync(log, 'utf8');
    t.diagnostic(report.split('\n').filter((l) => /ERROR SUMMARY|definitely lost:/.test(l)).join(' | '));
    assert.doesNotMatch(report, /Invalid (read|write|free)|Mismatched free|Source and destination overlap/);
    // Each leak record is a block of lines; none may pass through the addon.
    const leaks = report.split(/==\d+== \n/).filter((block) => /definitely lost in loss record/.test(block));
    const ours = leaks.filter((block) => /fleetpki_dtls/.test(block));
    assert.deepEqual(ours, [], 'definite leaks through the addon');
  });
});
