import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_COAP_PORT, DEFAULT_DATA_DIR, DEFAULT_GATEWAY_PORT, DEFAULT_HTTP_PORT, DEFAULT_MQTT_PORT, silentLogger, startServer, type RunningServer } from '@fleetpki/server';
import { openssl, tempDir } from '@fleetpki/test-support';
import { LIST_PAGE_SIZE } from '../src/api-client.js';
import * as cliDefaults from '../src/serve-defaults.js';
import { errorCode, fleetpkiAsync } from './helpers/cli.js';

/** Columns of a human table, sliced at the offsets of its headers (headers are 2+ spaces apart). */
function parseTable(text: string): Record<string, string>[] {
  const [header, ...rows] = text.split('\n').filter((line) => line !== '');
  assert.ok(header, 'a table has a header');
  const names = header.split(/ {2,}/);
  const starts = names.map((name) => header.indexOf(name));
  return rows.map((row) => Object.fromEntries(names.map((name, i) => [name, row.slice(starts[i], starts[i + 1]).trim()])));
}

/** `label:  value` lines of a human record. */
function parseRecord(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => {
        const match = /^([^:]+):\s+(.*)$/.exec(line);
        assert.ok(match, `a record line: ${line}`);
        return [match[1] as string, match[2] as string];
      }),
  );
}

function json<T>(stdout: string): T {
  return JSON.parse(stdout) as T;
}

interface Certificate {
  id: string;
  certType: string;
  purpose: string;
  enabled: boolean;
  certificateContent: { subject: string; notAfter: string; fingerprintSha256: string };
}
interface Device {
  id: string;
  name: string;
  certificateId: string | null;
  enabled: boolean;
  provisioning: string;
}
interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  revokedAt: string | null;
  key?: string;
}

const WARNING = (code: string): RegExp => new RegExp(`^fleetpki: warning: ${code}:`, 'm');

it("the CLI's copy of the serve defaults equals the server's", () => {
  assert.deepEqual([cliDefaults.DEFAULT_DATA_DIR, cliDefaults.DEFAULT_HTTP_PORT, cliDefaults.DEFAULT_GATEWAY_PORT, cliDefaults.DEFAULT_MQTT_PORT, cliDefaults.DEFAULT_COAP_PORT], [DEFAULT_DATA_DIR, DEFAULT_HTTP_PORT, DEFAULT_GATEWAY_PORT, DEFAULT_MQTT_PORT, DEFAULT_COAP_PORT]);
});

describe('management CLI against a live server', { concurrency: true }, () => {
  const tmp = tempDir('management');
  const dir = tmp.dir;
  let server: RunningServer;
  let admin: string;
  /** Connection by environment variables… */
  const viaEnv = (key = admin): Record<string, string> => ({ FLEETPKI_SERVER: server.httpUrl, FLEETPKI_API_KEY: key });
  /** …and by flags; both are exercised. */
  const viaFlags = (key = admin): string[] => ['--server', server.httpUrl, '--api-key', key];
  const run = (args: readonly string[], env: Record<string, string> = viaEnv()) => fleetpkiAsync(args, { cwd: dir, env });
  const ok = async (args: readonly string[], env?: Record<string, string>) => {
    const result = await run(args, env);
    assert.equal(result.status, 0, `fleetpki ${args.join(' ')}: ${result.stderr}`);
    return result;
  };
  const api = async (method: string, path: string, body: unknown): Promise<void> => {
    const response = await fetch(server.httpUrl + path, { method, headers: { 'x-api-key': admin, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal(response.status, 201, await response.text());
  };
  const refused = async (args: readonly string[], code: string, env?: Record<string, string>) => {
    const result = await run(args, env);
    assert.equal(result.status, 8, `fleetpki ${args.join(' ')}: ${result.stderr}`);
    assert.equal(errorCode(result.stderr), code);
    return result;
  };

  before(async () => {
    server = await startServer({ dataDir: join(dir, 'data'), httpPort: 0, gatewayPort: 0, mqttPort: 0, coapPort: 0, logger: silentLogger, announce: () => {} });
    assert.ok(server.adminApiKey);
    admin = server.adminApiKey;
    // The newcomer's root, as the seed makes it: 10 days, so the server warns CA_EXPIRES_SOON.
    openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'root.key'], dir);
    openssl(['req', '-x509', '-new', '-nodes', '-key', 'root.key', '-sha256', '-subj', '/CN=Root CA', '-days', '10', '-out', 'root.pem'], dir);
    // A bundle: a good CA and a device certificate it signed (not a CA).
    openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'bundle-root.key'], dir);
    openssl(['req', '-x509', '-new', '-nodes', '-key', 'bundle-root.key', '-sha256', '-subj', '/CN=Bundle Root', '-days', '100', '-out', 'bundle-root.pem'], dir);
    openssl(['req', '-new', '-key', 'bundle-root.key', '-subj', '/O=bundles/CN=dev-1', '-out', 'dev.csr'], dir);
    writeFileSync(join(dir, 'dev.ext'), 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n');
    openssl(['x509', '-req', '-in', 'dev.csr', '-CA', 'bundle-root.pem', '-CAkey', 'bundle-root.key', '-CAcreateserial', '-days', '7', '-extfile', 'dev.ext', '-out', 'dev.pem'], dir);
    writeFileSync(join(dir, 'bundle.pem'), Buffer.concat([readFileSync(join(dir, 'bundle-root.pem')), readFileSync(join(dir, 'dev.pem'))]));
    // Each test has its own project, so they run concurrently; made through the API, as they
    // are not what these tests are about (the newcomer flow makes its own with the CLI).
    for (const slug of ['bundles', 'certs', 'factory', 'fleet', 'keys', 'paging']) await api('POST', '/v1/projects', { name: slug, slug });
  });
  after(async () => {
    await server?.close();
    tmp.cleanup();
  });

  it('newcomer flow: project, root upload, list, device', async () => {
    await ok(['projects', 'create', '--name', 'Acme', '--slug', 'acme']);
    const upload = await ok(['certificates', 'upload', 'root.pem', '--project', 'acme', ...viaFlags()], {});
    assert.match(upload.stderr, WARNING('CA_EXPIRES_SOON'));
    assert.deepEqual(
      parseTable(upload.stdout).map((r) => [r['#'], r.RESULT, r.TYPE, r['SUBJECT / PROBLEM']]),
      [['0', 'created', 'root', '/CN=Root CA']],
    );

    const [row, ...more] = parseTable((await ok(['certificates', 'list', '--project', 'acme'])).stdout);
    assert.equal(more.length, 0);
    assert.ok(row);
    const fingerprint = openssl(['x509', '-in', 'root.pem', '-noout', '-fingerprint', '-sha256'], dir).toString().trim();
    const endDate = openssl(['x509', '-in', 'root.pem', '-noout', '-enddate'], dir).toString().trim();
    assert.equal(row.SUBJECT, '/CN=Root CA');
    assert.equal(row.TYPE, 'root');
    assert.equal(row.ENABLED, 'yes');
    assert.equal(row['FINGERPRINT (SHA-256)'], fingerprint.replace(/^.*=/, '').replace(/:/g, '').toLowerCase());
    assert.equal(new Date(row['NOT AFTER'] as string).getTime(), new Date(endDate.replace(/^notAfter=/, '')).getTime());

    const created = parseRecord((await ok(['devices', 'create', 'sensor-1', '--project', 'acme'])).stdout);
    assert.equal(created.name, 'sensor-1');
    assert.equal(created.enabled, 'yes');
    const devices = json<Device[]>((await ok(['devices', 'list', '--project', 'acme', '--json'])).stdout);
    assert.deepEqual(
      devices.map((d) => [d.id, d.name, d.certificateId, d.enabled, d.provisioning]),
      [[created.id, 'sensor-1', null, true, 'pre-provisioned']],
    );
  });

  it('a bundle of a CA and a device certificate: one stored, one refused, exit 8', async () => {
    const first = await refused(['certificates', 'upload', 'bundle.pem', '--project', 'bundles', '--json'], 'CERTIFICATES_REFUSED');
    const body = json<{ created: number; refused: number; results: { index: number; status: number; certificate?: Certificate; problem?: { code: string } }[] }>(first.stdout);
    assert.equal(body.created, 1);
    assert.equal(body.refused, 1);
    assert.deepEqual(
      body.results.map((r) => [r.index, r.status, r.certificate?.certificateContent.subject, r.problem?.code]),
      [
        [0, 201, '/CN=Bundle Root', undefined],
        [1, 422, undefined, 'CA_NOT_A_CA'],
      ],
    );
    // Again, for people: one line per certificate, each with its own result.
    const again = await refused(['certificates', 'upload', 'bundle.pem', '--project', 'bundles'], 'CERTIFICATES_REFUSED');
    assert.deepEqual(
      parseTable(again.stdout).map((r) => [r['#'], r.RESULT]),
      [
        ['0', 'CA_DUPLICATE'],
        ['1', 'CA_NOT_A_CA'],
      ],
    );
  });

  it('certificates disable, enable and delete', async () => {
    const { id } = json<Certificate>((await ok(['certificates', 'upload', 'bundle-root.pem', '--project', 'certs', '--type', 'root', '--json'])).stdout);
    assert.equal(json<Certificate>((await ok(['certificates', 'disable', id, '--project', 'certs', '--json'])).stdout).enabled, false);
    const enabled = parseRecord((await ok(['certificates', 'enable', id, '--project', 'certs'])).stdout);
    assert.deepEqual([enabled.id, enabled.enabled, enabled.subject], [id, 'yes', '/CN=Bundle Root']);
    await ok(['certificates', 'delete', id, '--project', 'certs']);
    await refused(['certificates', 'get', id, '--project', 'certs'], 'CA_NOT_FOUND');
  });

  it('certificates upload --purpose manufacturer: a CA that vouches for factory certificates at EST only', async () => {
    const made = json<Certificate>((await ok(['certificates', 'upload', 'bundle-root.pem', '--project', 'factory', '--purpose', 'manufacturer', '--json'])).stdout);
    assert.deepEqual([made.purpose, made.certType], ['manufacturer', 'root']);
    const listed = parseTable((await ok(['certificates', 'list', '--project', 'factory'])).stdout);
    assert.deepEqual(
      listed.map((r) => [r.ID, r.PURPOSE]),
      [[made.id, 'manufacturer']],
    );
    const wrong = await run(['certificates', 'upload', 'bundle-root.pem', '--project', 'factory', '--purpose', 'anchor']);
    assert.deepEqual([wrong.status, errorCode(wrong.stderr)], [2, 'USAGE']);
  });

  it('devices filter, disable, enable and delete', async () => {
    const d1 = json<Device>((await ok(['devices', 'create', 'd1', '--project', 'fleet', '--certificate-id', 'd1-cert', '--json'])).stdout);
    const d2 = json<Device>((await ok(['devices', 'create', 'd2', '--project', 'fleet', '--disabled', '--json'])).stdout);
    assert.deepEqual([d1.certificateId, d1.enabled, d2.enabled], ['d1-cert', true, false]);

    const ids = async (...filter: string[]) => json<Device[]>((await ok(['devices', 'list', '--project', 'fleet', '--json', ...filter])).stdout).map((d) => d.id);
    assert.deepEqual(await ids('--enabled', 'false'), [d2.id]);
    assert.deepEqual(await ids('--certificate-id', 'd1-cert'), [d1.id]);

    assert.equal(json<Device>((await ok(['devices', 'disable', d1.id, '--project', 'fleet', '--json'])).stdout).enabled, false);
    assert.equal(parseRecord((await ok(['devices', 'enable', d1.id, '--project', 'fleet'])).stdout).enabled, 'yes');
    await ok(['devices', 'delete', d1.id, '--project', 'fleet']);
    const rows = parseTable((await ok(['devices', 'list', '--project', 'fleet'])).stdout);
    assert.deepEqual(
      rows.map((r) => [r.ID, r.NAME, r['CERTIFICATE ID'], r.ENABLED]),
      [[d2.id, 'd2', '-', 'no']],
    );
  });

  it('api-keys create, list and revoke; a revoked key is refused with API_KEY_INVALID', async () => {
    // For people: the secret alone on stdout, so $(…) captures exactly it.
    const created = await ok(['api-keys', 'create', '--project', 'keys', '--name', 'ci']);
    assert.match(created.stdout, /^fpk_[A-Za-z0-9_-]{43}\n$/);
    const secret = created.stdout.trim();
    const other = json<ApiKey>((await ok(['api-keys', 'create', '--project', 'keys', '--json'])).stdout);
    assert.match(other.key ?? '', /^fpk_/);

    const keys = json<ApiKey[]>((await ok(['api-keys', 'list', '--project', 'keys', '--json'])).stdout);
    assert.deepEqual(
      keys.map((k) => [k.name, k.prefix, k.revokedAt, 'key' in k]),
      [
        ['ci', secret.slice(0, 12), null, false],
        ['api key', other.key?.slice(0, 12), null, false],
      ],
    );
    const ci = keys[0] as ApiKey;

    // The project key works for its project and sees only it; a flag beats the environment.
    const projects = json<{ slug: string }[]>((await ok(['projects', 'list', '--json'], viaEnv(secret))).stdout);
    assert.deepEqual(
      projects.map((p) => p.slug),
      ['keys'],
    );

    const revoked = json<ApiKey>((await ok(['api-keys', 'revoke', ci.id, '--project', 'keys', '--json'])).stdout);
    assert.equal(revoked.id, ci.id);
    assert.notEqual(revoked.revokedAt, null);
    await refused(['devices', 'list', '--project', 'keys', ...viaFlags(secret)], 'API_KEY_INVALID', {});
    await ok(['devices', 'list', '--project', 'keys', '--api-key', admin], viaEnv(secret));
  });

  it('api-keys create --scope: an MQTT-only key is listed with its scopes and refused by the management API; an unknown scope is the server’s VALIDATION_FAILED', async () => {
    await ok(['projects', 'create', '--name', 'Scoped', '--slug', 'scoped']);
    const made = json<ApiKey & { scopes: string[] }>((await ok(['api-keys', 'create', '--project', 'scoped', '--name', 'backend', '--scope', 'mqtt:subscribe', '--scope', 'mqtt:publish', '--json'])).stdout);
    assert.deepEqual(made.scopes, ['mqtt:subscribe', 'mqtt:publish']);
    const comma = json<ApiKey & { scopes: string[] }>((await ok(['api-keys', 'create', '--project', 'scoped', '--scope', 'api,mqtt:subscribe', '--json'])).stdout);
    assert.deepEqual(comma.scopes, ['api', 'mqtt:subscribe']);
    const table = (await ok(['api-keys', 'list', '--project', 'scoped'])).stdout;
    assert.match(table, /SCOPES/);
    assert.match(table, /mqtt:subscribe,mqtt:publish/);
    await refused(['devices', 'list', '--project', 'scoped', ...viaFlags(made.key as string)], 'API_KEY_SCOPE_MISSING', {});
    await refused(['api-keys', 'create', '--project', 'scoped', '--scope', 'mqtt:admin'], 'VALIDATION_FAILED');
  });

  it('projects get, list and delete', async () => {
    const project = json<{ id: string; slug: string; name: string }>((await ok(['projects', 'create', '--name', 'Doomed Sensors', '--json'])).stdout);
    assert.deepEqual([project.id, project.slug, project.name], ['doomed-sensors', 'doomed-sensors', 'Doomed Sensors']);
    assert.equal(parseRecord((await ok(['projects', 'get', 'doomed-sensors'])).stdout).name, 'Doomed Sensors');
    const listed = parseTable((await ok(['projects', 'list'])).stdout).find((r) => r.SLUG === 'doomed-sensors');
    assert.equal(listed?.NAME, 'Doomed Sensors');
    await ok(['projects', 'delete', 'doomed-sensors']);
    await refused(['projects', 'get', 'doomed-sensors', '--json'], 'PROJECT_NOT_FOUND');
  });

  it('list pages through every item, beyond one page', async () => {
    const count = LIST_PAGE_SIZE + 20;
    // Through the API directly: one child process per device would be slow.
    await Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const response = await fetch(`${server.httpUrl}/v1/projects/paging/devices`, {
          method: 'POST',
          headers: { 'x-api-key': admin, 'content-type': 'application/json' },
          body: JSON.stringify({ name: `node-${String(i).padStart(3, '0')}` }),
        });
        assert.equal(response.status, 201);
      }),
    );
    const names = json<Device[]>((await ok(['devices', 'list', '--project', 'paging', '--json'])).stdout).map((d) => d.name);
    assert.equal(names.length, count);
    assert.equal(new Set(names).size, count);
  });

  it('server-ca: PEM, DER and a C array of the platform root, without a key', async () => {
    const noKey = { FLEETPKI_SERVER: server.httpUrl };
    const der = server.platform.root.der;
    const [pem, derOut, c] = await Promise.all([
      ok(['server-ca'], noKey),
      ok(['server-ca', '--format', 'der', '--out', 'server-ca.der'], noKey),
      ok(['server-ca', '--format', 'c', '--server', server.httpUrl], {}),
    ]);
    assert.equal(pem.stdout, server.platform.rootPem);
    assert.equal(derOut.stdout, '');
    assert.deepEqual(readFileSync(join(dir, 'server-ca.der')), der);
    const subject = openssl(['x509', '-inform', 'DER', '-in', 'server-ca.der', '-noout', '-subject', '-nameopt', 'compat'], dir).toString().trim();
    assert.equal(subject, 'subject=/O=fleetpki/CN=fleetpki Root X1');
    assert.match(c.stdout, /^static const unsigned char fleetpki_root_ca_der\[\] = \{$/m);
    const bytes = [...c.stdout.matchAll(/0x([0-9a-f]{2})/g)].map((m) => Number.parseInt(m[1] as string, 16));
    assert.deepEqual(Buffer.from(bytes), der);
    assert.equal(/^static const unsigned int fleetpki_root_ca_der_len = (\d+);$/m.exec(c.stdout)?.[1], String(der.length));
  });
});

/** A local HTTP server that answers every request the same way, and counts them. */
async function fakeServer(answer: (res: ServerResponse) => void): Promise<{ url: string; server: HttpServer }> {
  const server = createHttpServer((_req, res) => answer(res));
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('management CLI when there is no API to talk to', { concurrency: true }, () => {
  const tmp = tempDir('management-offline');
  const dir = tmp.dir;
  const servers: HttpServer[] = [];
  after(async () => {
    await Promise.all(servers.map((s) => new Promise((done) => s.close(done))));
    tmp.cleanup();
  });

  it('a missing API key is a usage error before any request', async () => {
    let connections = 0;
    const listener = createTcpServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((done) => listener.listen(0, '127.0.0.1', done));
    const url = `http://127.0.0.1:${(listener.address() as AddressInfo).port}`;
    try {
      const commands = [
        ['projects', 'list'],
        ['certificates', 'upload', 'missing.pem', '--project', 'acme'],
        ['api-keys', 'create', '--project', 'acme', '--api-key', ''],
      ];
      const results = await Promise.all(commands.map((args) => fleetpkiAsync([...args, '--server', url], { cwd: dir })));
      assert.deepEqual(
        results.map((r) => [r.status, errorCode(r.stderr)]),
        commands.map(() => [2, 'USAGE']),
      );
      assert.equal(connections, 0);
    } finally {
      await new Promise((done) => listener.close(done));
    }
  });

  it('a server that is not there exits 9, SERVER_UNREACHABLE, naming the URL', async () => {
    // A port that was free a moment ago: nothing listens there.
    const probe = createTcpServer();
    await new Promise<void>((done) => probe.listen(0, '127.0.0.1', done));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((done) => probe.close(done));
    const url = `http://127.0.0.1:${port}`;
    const [list, ca] = await Promise.all([
      fleetpkiAsync(['projects', 'list'], { cwd: dir, env: { FLEETPKI_SERVER: url, FLEETPKI_API_KEY: 'fpk_unused' } }),
      fleetpkiAsync(['server-ca', '--server', url], { cwd: dir }),
    ]);
    for (const result of [list, ca]) {
      assert.deepEqual([result.status, errorCode(result.stderr)], [9, 'SERVER_UNREACHABLE']);
      assert.ok(result.stderr.includes(url), result.stderr);
    }
  });

  const answers: { name: string; answer: (res: ServerResponse) => void; status: number; code: string }[] = [
    {
      name: 'an HTML error page is not the API',
      answer: (res) => res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>Not Found</h1>'),
      status: 9,
      code: 'SERVER_RESPONSE_INVALID',
    },
    {
      name: 'a redirect is not followed (it would carry the key away)',
      answer: (res) => res.writeHead(301, { location: 'http://evil.example/' }).end(),
      status: 9,
      code: 'SERVER_RESPONSE_INVALID',
    },
    {
      name: 'an answer larger than the bound',
      answer: (res) => res.writeHead(200, { 'content-type': 'application/json' }).end(Buffer.alloc(9 * 1024 * 1024, 0x20)),
      status: 9,
      code: 'SERVER_RESPONSE_INVALID',
    },
    {
      name: 'a problem keeps the server code, whatever it is, and exits 8',
      answer: (res) => res.writeHead(418, { 'content-type': 'application/problem+json' }).end(JSON.stringify({ status: 418, code: 'SOME_NEWER_CODE', detail: 'evil\u001b[2J\nfleetpki: OK: forged' })),
      status: 8,
      code: 'SOME_NEWER_CODE',
    },
  ];
  for (const c of answers) {
    it(c.name, async () => {
      const fake = await fakeServer(c.answer);
      servers.push(fake.server);
      const result = await fleetpkiAsync(['projects', 'list', '--server', fake.url, '--api-key', 'fpk_test'], { cwd: dir });
      assert.deepEqual([result.status, errorCode(result.stderr)], [c.status, c.code], result.stderr);
      // One line, and nothing from the network reaches the terminal unescaped.
      assert.equal(result.stderr.split('\n').filter((line) => line !== '').length, 1, result.stderr);
      assert.ok(!result.stderr.includes('\u001b'), result.stderr);
    });
  }

  const usage = [
    { name: '--server that is not http(s)', args: ['projects', 'list', '--server', 'ftp://example.com', '--api-key', 'fpk_x'] },
    { name: '--enabled other than true or false', args: ['devices', 'list', '--project', 'p', '--enabled', 'yes', '--api-key', 'fpk_x'] },
    { name: 'an ID that a URL would resolve away', args: ['devices', 'get', '..', '--project', 'p', '--api-key', 'fpk_x'] },
    { name: 'a key secret where its ID belongs (it would be logged)', args: ['api-keys', 'revoke', `fpk_${'A'.repeat(43)}`, '--project', 'p', '--api-key', 'fpk_x'] },
  ];
  it('usage errors exit 2 before any request', async () => {
    const results = await Promise.all(usage.map((c) => fleetpkiAsync(c.args, { cwd: dir, env: { FLEETPKI_SERVER: 'http://127.0.0.1:9' } })));
    assert.deepEqual(
      results.map((r, i) => [usage[i]?.name, r.status, errorCode(r.stderr)]),
      usage.map((c) => [c.name, 2, 'USAGE']),
    );
  });
});
