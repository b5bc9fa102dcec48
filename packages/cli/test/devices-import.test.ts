import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { silentLogger, startServer, type RunningServer } from '@fleetpki/server';
import { tempDir } from '@fleetpki/test-support';
import { errorCode, fleetpkiAsync, fleetpkiOk } from './helpers/cli.js';

const run = promisify(execFile);

/**
 * Issue 19, 2 with the real CLI: a factory run (`devices generate`) imported in one command from
 * its manifest.csv, run twice (every row unchanged the second time); an imported device's first
 * connection (curl) is the device the import made; a file with bad rows exits IMPORT_ROWS_REFUSED
 * and names each bad row's line, the good rows imported.
 */
describe('fleetpki devices import', () => {
  const tmp = tempDir('devices-import');
  const dir = tmp.dir;
  let server: RunningServer;
  const cli = (args: readonly string[]) => fleetpkiAsync(args, { cwd: dir, env: { FLEETPKI_SERVER: server.httpUrl, FLEETPKI_API_KEY: server.adminApiKey as string } });

  before(async () => {
    server = await startServer({ dataDir: join(dir, 'data'), httpPort: 0, gatewayPort: 0, mqttPort: 0, coapPort: 0, logger: silentLogger, announce: () => {} });
    fleetpkiOk(['key', 'create', '--out', 'ca.key.pem'], dir);
    fleetpkiOk(['ca', 'create', '--key', 'ca.key.pem', '--subject', '/CN=Line CA', '--days', '400', '--out', 'ca.crt.pem'], dir);
    fleetpkiOk(['devices', 'generate', '--project', 'line', '--count', '1500', '--ca-cert', 'ca.crt.pem', '--ca-key', 'ca.key.pem', '--out-dir', 'batch', '--days', '30'], dir);
    assert.equal((await cli(['projects', 'create', '--name', 'Line', '--slug', 'line'])).status, 0);
    assert.equal((await cli(['certificates', 'upload', 'ca.crt.pem', '--project', 'line'])).status, 0);
    writeFileSync(join(dir, 'server-ca.pem'), (await cli(['server-ca'])).stdout);
  });
  after(async () => {
    await server.close();
    tmp.cleanup();
  });

  it('imports a manifest.csv in one command, and again with every row unchanged; a device then connects as the one imported', async () => {
    const first = await cli(['devices', 'import', 'batch/manifest.csv', '--project', 'line', '--json']);
    assert.equal(first.status, 0, first.stderr);
    assert.deepEqual((JSON.parse(first.stdout) as { summary: unknown }).summary, { rows: 1500, created: 1500, unchanged: 0, conflict: 0, invalid: 0 });
    const again = await cli(['devices', 'import', 'batch/manifest.csv', '--project', 'line']);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stderr, /1500 rows: 0 created, 1500 unchanged, 0 conflicting, 0 invalid/);

    const [, row] = readFileSync(join(dir, 'batch', 'manifest.csv'), 'utf8').split('\n');
    const [certificateId, , , , keyFile, certFile] = (row as string).split(',');
    const listed = JSON.parse((await cli(['devices', 'list', '--project', 'line', '--json'])).stdout) as { name: string; id: string; certificateId: string }[];
    assert.equal(listed.length, 1500, 'the CLI pages the whole list by cursor');
    const imported = listed.find((d) => d.name === certificateId);
    assert.equal(imported?.certificateId, certificateId);
    const { stdout } = await run('curl', ['-s', '--cacert', join(dir, 'server-ca.pem'), '--cert', join(dir, 'batch', certFile as string), '--key', join(dir, 'batch', keyFile as string), `${server.gatewayUrl}/v1/device/identity`]);
    assert.equal((JSON.parse(stdout) as { deviceId: string }).deviceId, imported?.id);
  });

  it('a file with bad rows: each named with its line on stderr, exit IMPORT_ROWS_REFUSED, the good rows imported', async () => {
    writeFileSync(join(dir, 'mixed.ndjson'), ['{"name":"good-1"}', '{"name":"  bad  "}', 'nonsense', '{"name":"good-2","certificateId":"good-2"}'].join('\n') + '\n');
    const mixed = await cli(['devices', 'import', 'mixed.ndjson', '--project', 'line']);
    assert.equal(mixed.status, 3);
    assert.equal(errorCode(mixed.stderr), 'IMPORT_ROWS_REFUSED');
    assert.match(mixed.stderr, /line 2 \( {2}bad {2}\): invalid: DEVICE_NAME_INVALID/);
    assert.match(mixed.stderr, /line 3: invalid: IMPORT_ROW_INVALID/);
    assert.match(mixed.stderr, /4 rows: 2 created, 0 unchanged, 0 conflicting, 2 invalid/);
    const header = await cli(['devices', 'import', 'ca.crt.pem', '--project', 'line', '--format', 'csv']);
    assert.equal(header.status, 8);
    assert.match(header.stderr, /IMPORT_HEADER_INVALID/);
    const unknown = await cli(['devices', 'import', 'mixed.txt', '--project', 'line']);
    assert.equal(errorCode(unknown.stderr), 'USAGE');
  });
});
