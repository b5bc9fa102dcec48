import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { tempDir } from '@fleetpki/test-support';
import { CLI_BIN, errorCode, fleetpkiAsync } from './helpers/cli.js';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** The processes whose parent is `pid` (the cluster workers), from /proc. */
function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((name) => {
      try {
        return Number(readFileSync(`/proc/${name}/stat`, 'utf8').split(') ')[1]?.split(' ')[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe('fleetpki serve --workers', () => {
  const tmp = tempDir('serve-workers');
  after(() => tmp.cleanup());

  it('N worker processes share the ports, issue certificates, answer one aggregated scrape, and stop on SIGTERM with status 0', async () => {
    const [http, gateway, mqtt, metrics] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const child = spawn(process.execPath, [CLI_BIN, 'serve', '--data-dir', join(tmp.dir, 'data'), '--workers', '2', '--http-port', String(http), '--gateway-port', String(gateway), '--mqtt-port', String(mqtt), '--metrics-port', String(metrics)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.stderr.resume();
    try {
      for (let i = 0; out.split('"management API listening"').length - 1 < 2; i++) {
        assert.ok(i < 300, `two workers listening within 30 s: ${out}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(childrenOf(child.pid as number).length, 2);
      const key = readFileSync(join(tmp.dir, 'data', 'admin-api-key'), 'utf8').trim();
      const api = async (path: string, body: unknown) => {
        const r = await fetch(`http://127.0.0.1:${http}${path}`, { method: 'POST', headers: { 'x-api-key': key, 'content-type': 'application/json' }, body: JSON.stringify(body) });
        return { status: r.status, body: (await r.json()) as Record<string, unknown> };
      };
      assert.equal((await api('/v1/projects', { name: 'w', slug: 'workers' })).status, 201);
      assert.equal((await api('/v1/projects/workers/pki/cas', { mode: 'generate' })).status, 201);
      await fleetpkiAsync(['key', 'create', '--out', 'd.key.pem'], { cwd: tmp.dir });
      const serials = new Set<unknown>();
      for (let i = 0; i < 12; i++) {
        await fleetpkiAsync(['csr', 'create', '--key', 'd.key.pem', '--project', 'workers', '--id', `w-${i}`, '--out', `w-${i}.csr.pem`], { cwd: tmp.dir });
        const r = await api('/v1/projects/workers/pki/issue', { csr: readFileSync(join(tmp.dir, `w-${i}.csr.pem`)).toString('base64') });
        assert.equal(r.status, 201, JSON.stringify(r.body));
        serials.add(r.body['serialNumber']);
      }
      assert.equal(serials.size, 12);
      // One scrape of the primary's --metrics-port sums every worker's counts (prom-client's cluster aggregator).
      const scrape = await (await fetch(`http://127.0.0.1:${metrics}/metrics`)).text();
      assert.match(scrape, /^fleetpki_certificates_issued_total\{mode="sealed"\} 12$/m);
      assert.match(scrape, /^fleetpki_http_requests_total\{route="\/v1\/projects\/:projectId\/pki\/issue",status="201"\} 12$/m);
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0);
  });

  it('--workers needs explicit ports and a sane count', async () => {
    const zero = await fleetpkiAsync(['serve', '--data-dir', join(tmp.dir, 'z'), '--workers', '2', '--http-port', '0'], { cwd: tmp.dir });
    assert.equal(zero.status, 2);
    assert.equal(errorCode(zero.stderr), 'USAGE');
    const many = await fleetpkiAsync(['serve', '--workers', '1000'], { cwd: tmp.dir });
    assert.equal(many.status, 2);
    assert.equal(errorCode(many.stderr), 'USAGE');
  });
});
