import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { connect } from 'node:net';
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SERVER_CERT_FILE, SERVER_KEY_FILE } from '@fleetpki/server';
import { makeDevice, makeRoot, openssl, type Issued } from '@fleetpki/test-support';
import { startTestApi, type TestApi } from './helpers/api.js';
import { base64 } from './helpers/base64.js';
import { curl } from './helpers/curl.js';
import { writeDeviceFiles, type DeviceFiles } from './helpers/device-clients.js';
import { eventually } from './helpers/eventually.js';
import { freePort } from './helpers/free-port.js';
import { buildKeyMatchShim } from './helpers/key-match-shim.js';
import { DIALECTS } from './helpers/stores.js';

const NGINX = existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx';
const DOC = resolve(fileURLToPath(import.meta.url), '../../../../../docs/forward-auth.md');
const SECRET = 'forward-auth-test-secret-0123456789';

/** The one ```nginx block of docs/forward-auth.md: the configuration users copy is the one tested. */
function documentedNginxBlock(): string {
  const blocks = [...readFileSync(DOC, 'utf8').matchAll(/^```nginx\n([\s\S]*?)^```$/gm)].map((m) => m[1] as string);
  assert.equal(blocks.length, 1, 'docs/forward-auth.md holds exactly one nginx block');
  return blocks[0] as string;
}

/** An upstream service that records the requests nginx let through, with their headers. */
async function startUpstream(): Promise<{ server: Server; port: number; seen: { method: string; url: string; headers: IncomingHttpHeaders; body: string }[] }> {
  const seen: { method: string; url: string; headers: IncomingHttpHeaders; body: string }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ upstream: true }));
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return { server, port: (server.address() as { port: number }).port, seen };
}

/** Resolves once something accepts TCP connections on the port (nginx has started). */
async function listening(port: number): Promise<boolean> {
  return eventually(
    () =>
      new Promise<boolean>((done) => {
        const socket = connect(port, '127.0.0.1');
        socket.once('connect', () => (socket.destroy(), done(true)));
        socket.once('error', () => done(false));
      }),
    (up) => up,
    10_000,
  );
}

/** `openssl s_client` through nginx with a request; its whole output, bounded in time. */
function sClient(port: number, serverCa: string, files: DeviceFiles, version: string, env: NodeJS.ProcessEnv): Promise<string> {
  // -ign_eof: read until nginx closes, so its alert is in the output (at end of input s_client would quit first).
  const child = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'localhost', '-CAfile', serverCa, '-cert', files.cert, '-key', files.key, version, '-ign_eof'], { env: { ...process.env, ...env } });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  // TLS 1.3: the client's CertificateVerify is checked after the client thinks the handshake is
  // done, so the request is written; nginx must answer it with an alert, not the upstream.
  child.stdin.end('GET /stolen HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  return new Promise((done) => child.once('close', () => (clearTimeout(timer), done(out))));
}

for (const dialect of DIALECTS) {
  describe(`devices through Debian's nginx with forward-auth, the documented configuration [${dialect}]`, { timeout: 120_000 }, () => {
    let api: TestApi;
    let dir: string;
    let serverCa: string;
    let nginx: ChildProcess | undefined;
    let nginxPort = 0;
    let upstream: Awaited<ReturnType<typeof startUpstream>>;
    const acmeRoot = makeRoot('/CN=Acme Devices Root');
    const betaRoot = makeRoot('/CN=Beta Devices Root');
    const device = (name: string, issuer: Issued = acmeRoot): DeviceFiles & { issued: Issued } => {
      const issued = makeDevice(issuer, `/O=acme/CN=${name}`);
      return { ...writeDeviceFiles(dir, name, issued.pem, issued.keyPem), issued };
    };
    /** curl through nginx with the device's certificate (none when undefined); the answer and its headers. */
    const through = async (files: DeviceFiles | undefined, path: string, extra: readonly string[] = []) => {
      const headerFile = join(dir, `headers-${Math.random().toString(36).slice(2)}`);
      const args = ['--cacert', serverCa, '-D', headerFile, ...(files ? ['--cert', files.cert, '--key', files.key] : []), ...extra, `https://localhost:${nginxPort}${path}`];
      const answer = await curl(args);
      const headers = existsSync(headerFile) ? readFileSync(headerFile, 'utf8') : '';
      return { ...answer, refusalCode: /^fleetpki-refusal-code: *(\S+)/im.exec(headers)?.[1], json: answer.contentType.includes('json') ? (JSON.parse(answer.body.toString('utf8')) as Record<string, unknown>) : undefined };
    };
    const reachedUpstream = (path: string) => upstream.seen.filter((r) => r.url === path).length;
    const auditFailures = async () => {
      const list = (await api.call('GET', '/v1/audit?action=device.authentication-failed&perPage=200')).body['list'] as { action: string; details: { code: string; transport: string; remoteAddress: string | null; subject: string | null } }[];
      return list.filter((e) => e.action === 'device.authentication-failed').map((e) => e.details);
    };

    before(async () => {
      api = await startTestApi(dialect, { serve: { forwardAuthPort: 0, forwardAuthSecret: SECRET } });
      dir = api.store.dataDir;
      assert.equal((await api.call('POST', '/v1/projects', { json: { name: 'Acme', slug: 'acme' } })).status, 201);
      assert.equal((await api.call('POST', '/v1/projects', { json: { name: 'Beta', slug: 'beta' } })).status, 201);
      assert.equal((await api.call('POST', '/v1/projects/acme/certificates', { json: { certFile: base64(acmeRoot.pem) } })).status, 201);
      assert.equal((await api.call('POST', '/v1/projects/beta/certificates', { json: { certFile: base64(betaRoot.pem) } })).status, 201);
      serverCa = join(dir, 'server-ca.pem');
      writeFileSync(serverCa, (await api.call('GET', '/v1/server-ca', { key: null })).text);
      upstream = await startUpstream();

      const forwardAuth = new URL(api.server.forwardAuthUrl as string);
      nginxPort = await freePort();
      const site = documentedNginxBlock()
        .replaceAll('__LISTEN_PORT__', `127.0.0.1:${nginxPort}`)
        .replaceAll('__CERT__', join(dir, SERVER_CERT_FILE))
        .replaceAll('__KEY__', join(dir, SERVER_KEY_FILE))
        .replaceAll('__FORWARD_AUTH__', forwardAuth.host)
        .replaceAll('__UPSTREAM__', `127.0.0.1:${upstream.port}`)
        .replaceAll('__FORWARD_AUTH_SECRET__', SECRET);
      assert.doesNotMatch(site, /__[A-Z_]+__/, 'every placeholder is filled');
      const prefix = join(dir, 'nginx');
      mkdirSync(join(prefix, 'logs'), { recursive: true });
      const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `  ${kind}_temp_path ${join(prefix, kind)};`).join('\n');
      // The documented block goes in the http context; the rest keeps nginx inside the temp dir.
      writeFileSync(
        join(prefix, 'nginx.conf'),
        `${process.getuid?.() === 0 ? 'user root;\n' : ''}worker_processes 1;\nerror_log ${join(prefix, 'logs/error.log')} info;\nevents { worker_connections 256; }\nhttp {\n  access_log ${join(prefix, 'logs/access.log')};\n${temp}\n${site}\n}\n`,
      );
      nginx = spawn(NGINX, ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-g', `daemon off; pid ${join(prefix, 'nginx.pid')};`], { stdio: ['ignore', 'ignore', openSync(join(prefix, 'logs/stderr.log'), 'w')] });
      assert.ok(await listening(nginxPort), `nginx listens: ${existsSync(join(prefix, 'logs/stderr.log')) ? readFileSync(join(prefix, 'logs/stderr.log'), 'utf8') : ''}`);
    });
    after(async () => {
      if (nginx?.pid !== undefined && nginx.exitCode === null) {
        const exited = new Promise((done) => nginx?.once('exit', done));
        process.kill(nginx.pid, 'SIGQUIT');
        await Promise.race([exited, new Promise((done) => setTimeout(done, 5000))]);
        if (nginx.exitCode === null && nginx.signalCode === null) process.kill(nginx.pid, 'SIGKILL');
      }
      await new Promise<void>((done) => upstream.server.close(() => done()));
      upstream.server.closeAllConnections();
      await api.close();
    });

    it('a device reaches the upstream, which sees the identity fleetpki vouched for (GET and POST)', async () => {
      const unit = device('unit-1');
      const answer = await through(unit, '/telemetry?x=1');
      assert.equal(answer.status, 200, answer.body.toString('utf8'));
      assert.deepEqual(answer.json, { upstream: true });
      const [provisioned] = (await api.call('GET', '/v1/projects/acme/devices?certificateId=unit-1')).body['list'] as { id: string }[];
      assert.ok(provisioned, 'zero-touch provisioning created the device');
      const seen = upstream.seen.find((r) => r.url === '/telemetry?x=1');
      assert.equal(seen?.headers['fleetpki-project'], 'acme');
      assert.equal(seen?.headers['fleetpki-device'], provisioned.id);
      assert.equal(seen?.headers['fleetpki-certificate-id'], 'unit-1');
      assert.ok(!Number.isNaN(Date.parse(String(seen?.headers['fleetpki-renew-after']))), 'the renewal time rides along');
      assert.equal(seen?.headers['x-real-ip'], '127.0.0.1');
      // The auth subrequest takes neither the body nor the method from the device's request.
      const posted = await through(unit, '/readings', ['-X', 'POST', '-H', 'content-type: application/json', '--data', '{"t":21.5}']);
      assert.equal(posted.status, 200);
      const readings = upstream.seen.find((r) => r.url === '/readings');
      assert.equal(readings?.method, 'POST');
      assert.equal(readings?.body, '{"t":21.5}');
      assert.equal(readings?.headers['fleetpki-device'], provisioned.id);
    });

    it('a device cannot forge the identity headers: the upstream sees its real identity', async () => {
      const unit = device('unit-forger');
      const answer = await through(unit, '/forged', ['-H', 'Fleetpki-Device: someone-else', '-H', 'Fleetpki-Project: beta', '-H', 'Fleetpki-Certificate-Id: unit-1', '-H', 'fleetpki-device: lowercase-too']);
      assert.equal(answer.status, 200);
      const seen = upstream.seen.filter((r) => r.url === '/forged');
      assert.equal(seen.length, 1);
      assert.equal(seen[0]?.headers['fleetpki-project'], 'acme');
      assert.equal(seen[0]?.headers['fleetpki-certificate-id'], 'unit-forger');
      const [me] = (await api.call('GET', '/v1/projects/acme/devices?certificateId=unit-forger')).body['list'] as { id: string }[];
      assert.equal(seen[0]?.headers['fleetpki-device'], me?.id, 'one value, the real one');
    });

    it('no certificate, and a certificate header the device sends itself: 401 NO_CLIENT_CERTIFICATE, upstream not reached', async () => {
      const forged = encodeURIComponent(device('unit-victim').issued.pem);
      for (const extra of [[], ['-H', `X-SSL-Client-Cert: ${forged}`], ['-H', `X-Forwarded-Tls-Client-Cert: ${base64(device('unit-victim-2').issued.cert.der)}`]]) {
        const answer = await through(undefined, '/no-cert', extra);
        assert.equal(answer.status, 401);
        assert.equal(answer.refusalCode, 'NO_CLIENT_CERTIFICATE');
      }
      assert.equal(reachedUpstream('/no-cert'), 0);
    });

    it("a certificate from another project's CA: 403 UNKNOWN_ISSUER, upstream not reached", async () => {
      const intruder = device('intruder-1', betaRoot);
      const answer = await through(intruder, '/intruder');
      assert.equal(answer.status, 403);
      assert.equal(answer.refusalCode, 'UNKNOWN_ISSUER');
      assert.equal(reachedUpstream('/intruder'), 0);
      assert.equal((await api.call('GET', '/v1/projects/acme/devices?certificateId=intruder-1')).body['total'], 0);
    });

    it('a disabled device: 403 DEVICE_DISABLED on its next request', async () => {
      const unit = device('unit-disabled');
      assert.equal((await through(unit, '/before-disable')).status, 200);
      const [found] = (await api.call('GET', '/v1/projects/acme/devices?certificateId=unit-disabled')).body['list'] as { id: string }[];
      assert.equal((await api.call('PATCH', `/v1/projects/acme/devices/${found?.id}`, { json: { enabled: false } })).status, 200);
      const answer = await through(unit, '/after-disable');
      assert.equal(answer.status, 403);
      assert.equal(answer.refusalCode, 'DEVICE_DISABLED');
      assert.equal(reachedUpstream('/after-disable'), 0);
    });

    it('a revoked certificate: 403 CERT_REVOKED on its next request', async () => {
      const unit = device('unit-revoked');
      assert.equal((await through(unit, '/before-revoke')).status, 200);
      const fingerprintSha256 = createHash('sha256').update(unit.issued.cert.der).digest('hex');
      // The certificate is in the inventory once the journal has written the sighting (batched).
      assert.equal(await eventually(async () => (await api.call('GET', `/v1/projects/acme/device-certificates/${fingerprintSha256}`)).status, (status) => status === 200), 200);
      assert.equal((await api.call('POST', '/v1/projects/acme/revocations', { json: { certificates: [{ fingerprintSha256 }], reason: 'keyCompromise' } })).status, 200);
      const answer = await through(unit, '/after-revoke');
      assert.equal(answer.status, 403);
      assert.equal(answer.refusalCode, 'CERT_REVOKED');
      assert.equal(reachedUpstream('/after-revoke'), 0);
    });

    it("a stolen certificate without its key: nginx's handshake fails, nothing reaches fleetpki or the upstream", async () => {
      const shim = buildKeyMatchShim(dir);
      const stolen = device('unit-stolen');
      const thief = writeDeviceFiles(dir, 'unit-stolen-thief', stolen.issued.pem, openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout'], dir).toString('utf8'));
      for (const version of ['-tls1_2', '-tls1_3']) {
        const out = await sClient(nginxPort, serverCa, thief, version, { LD_PRELOAD: shim });
        assert.doesNotMatch(out, /HTTP\/1\.1/, out);
        assert.match(out, /alert decrypt error/, out);
      }
      assert.equal(reachedUpstream('/stolen'), 0);
      const failedHandshakes = await eventually(
        () => Promise.resolve(readFileSync(join(dir, 'nginx/logs/error.log'), 'utf8').split('\n').filter((line) => /SSL_do_handshake\(\) failed.*bad signature/.test(line)).length),
        (n) => n >= 2,
      );
      assert.equal(failedHandshakes, 2, "nginx's error log has both failed handshakes");
      assert.equal((await api.call('GET', '/v1/projects/acme/devices?certificateId=unit-stolen')).body['total'], 0);
      // The journal writes every 200 ms: past that, a refusal of the stolen certificate would show.
      await new Promise((done) => setTimeout(done, 600));
      assert.deepEqual((await auditFailures()).filter((f) => f.subject?.includes('unit-stolen')), [], 'fleetpki was never asked');
    });

    it('the audit log shows the refusals with transport forward-auth, their codes and the device address', async () => {
      const failures = await eventually(auditFailures, (list) => ['NO_CLIENT_CERTIFICATE', 'UNKNOWN_ISSUER', 'DEVICE_DISABLED', 'CERT_REVOKED'].every((code) => list.some((f) => f.code === code)));
      for (const code of ['NO_CLIENT_CERTIFICATE', 'UNKNOWN_ISSUER', 'DEVICE_DISABLED', 'CERT_REVOKED']) {
        const entry = failures.find((f) => f.code === code);
        assert.ok(entry, `${code} is audited`);
        assert.equal(entry.transport, 'forward-auth');
        assert.equal(entry.remoteAddress, '127.0.0.1');
      }
    });
  });
}
