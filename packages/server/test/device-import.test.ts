import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { startTestApi, type TestApi } from './helpers/api.js';
import { DIALECTS } from './helpers/stores.js';

interface Answer {
  readonly status: number;
  readonly lines: readonly Record<string, unknown>[];
  readonly body: Record<string, unknown>;
}

/**
 * Issue 19, 2: `POST /v1/projects/{p}/devices/import`, NDJSON and CSV, idempotent on name, a
 * result per row with its line, a summary last; bad input refused with codes, and a bad row
 * never stops or half-applies its batch.
 */
for (const dialect of DIALECTS) {
  describe(`device import [${dialect}]`, () => {
    let api: TestApi;
    const send = async (contentType: string, body: string | Buffer, query = '', project = 'imports', key?: string): Promise<Answer> => {
      const r = await fetch(`${api.server.httpUrl}/v1/projects/${project}/devices/import${query}`, { method: 'POST', headers: { 'x-api-key': key ?? api.adminKey, 'content-type': contentType }, body });
      const text = await r.text();
      const lines = r.headers.get('content-type')?.startsWith('application/x-ndjson') ? text.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>) : [];
      return { status: r.status, lines, body: lines.length === 0 && text ? (JSON.parse(text) as Record<string, unknown>) : {} };
    };
    const ndjson = (rows: readonly unknown[]) => rows.map((row) => (typeof row === 'string' ? row : JSON.stringify(row))).join('\n') + '\n';
    const rowsOf = (answer: Answer) => answer.lines.filter((line) => 'result' in line);
    const summaryOf = (answer: Answer) => answer.lines.at(-1)?.['summary'];
    const deviceCount = async () => Number((await api.call('GET', '/v1/projects/imports/devices?perPage=1&count=true')).body['total']);

    before(async () => {
      api = await startTestApi(dialect);
      for (const slug of ['imports', 'elsewhere']) assert.equal((await api.call('POST', '/v1/projects', { json: { name: slug, slug } })).status, 201);
    });
    after(() => api.close());

    it('NDJSON: a result per row with its line, a summary last; run again, every row is unchanged', async () => {
      const body = ndjson([{ name: 'n-1', certificateId: 'n-1' }, { name: 'n-2' }, '', { name: 'n-3', certificateId: 'cid-3' }]);
      const first = await send('application/x-ndjson', body);
      assert.equal(first.status, 200);
      assert.deepEqual(
        rowsOf(first).map((r) => [r['line'], r['name'], r['result']]),
        [
          [1, 'n-1', 'created'],
          [2, 'n-2', 'created'],
          [4, 'n-3', 'created'],
        ],
      );
      assert.deepEqual(summaryOf(first), { rows: 3, created: 3, unchanged: 0, conflict: 0, invalid: 0 });
      const device = (await api.call('GET', '/v1/projects/imports/devices?name=n-3')).body['list'][0] as Record<string, unknown>;
      assert.deepEqual([device['certificateId'], device['provisioning'], device['id']], ['cid-3', 'pre-provisioned', rowsOf(first)[2]?.['deviceId']]);
      const again = await send('application/x-ndjson', body);
      assert.deepEqual(summaryOf(again), { rows: 3, created: 0, unchanged: 3, conflict: 0, invalid: 0 });
      assert.deepEqual(
        rowsOf(again).map((r) => r['deviceId']),
        rowsOf(first).map((r) => r['deviceId']),
      );
    });

    it('CSV: the manifest of devices generate names each device by its certificate_id; other columns are ignored', async () => {
      const manifest = 'certificate_id,serial,sha256_fingerprint,not_after,key_file,cert_file\nline-a,01,ab,2027-01-01T00:00:00Z,a.key.pem,a.crt.pem\nline-b,02,cd,2027-01-01T00:00:00Z,b.key.pem,b.crt.pem\n';
      const answer = await send('text/csv; charset=utf-8', manifest);
      assert.deepEqual(
        rowsOf(answer).map((r) => [r['line'], r['name'], r['result']]),
        [
          [2, 'line-a', 'created'],
          [3, 'line-b', 'created'],
        ],
      );
      const device = (await api.call('GET', '/v1/projects/imports/devices?name=line-b')).body['list'][0] as Record<string, unknown>;
      assert.equal(device['certificateId'], 'line-b');
      const named = await send('text/csv', 'name,certificate_id\n"Line, with comma",csv-c\n');
      assert.deepEqual(rowsOf(named).map((r) => [r['name'], r['result']]), [['Line, with comma', 'created']]);
    });

    it('a bad row is reported with its line and its batch goes in without it', async () => {
      const rows = Array.from({ length: 1000 }, (_, i) => ({ name: `batch-${String(i).padStart(4, '0')}` }));
      const lines = rows.map((row) => JSON.stringify(row));
      lines[499] = '{"name": "  padded  "}';
      const answer = await send('application/x-ndjson', lines.join('\n'), '?report=problems');
      assert.deepEqual(
        rowsOf(answer).map((r) => [r['line'], r['result'], r['code']]),
        [[500, 'invalid', 'DEVICE_NAME_INVALID']],
      );
      assert.deepEqual(summaryOf(answer), { rows: 1000, created: 999, unchanged: 0, conflict: 0, invalid: 1 });
      assert.ok(answer.lines.some((line) => 'progress' in line), 'progress after the batch');
    });

    const refusedRows: readonly { name: string; body: string; contentType?: string; expect: readonly (readonly [number, string, string | undefined])[] }[] = [
      { name: 'not JSON', body: 'x-1\n', expect: [[1, 'invalid', 'IMPORT_ROW_INVALID']] },
      { name: 'a JSON array', body: '["x"]\n', expect: [[1, 'invalid', 'IMPORT_ROW_INVALID']] },
      { name: 'an unknown field', body: '{"name":"u-1","color":"red"}\n', expect: [[1, 'invalid', 'IMPORT_ROW_INVALID']] },
      { name: 'no name', body: '{"certificateId":"c-9"}\n', expect: [[1, 'invalid', 'DEVICE_NAME_INVALID']] },
      { name: 'an invalid certificate ID', body: '{"name":"bad-cid","certificateId":"has space"}\n', expect: [[1, 'invalid', 'CERTIFICATE_ID_INVALID']] },
      { name: 'a row over 4 KiB', body: `{"name":"${'x'.repeat(5000)}"}\n{"name":"after-long"}\n`, expect: [[1, 'invalid', 'IMPORT_ROW_INVALID'], [2, 'created', undefined]] },
      {
        name: 'a duplicate within the file, same and other certificate ID',
        body: '{"name":"dup","certificateId":"dup-1"}\n{"name":"dup","certificateId":"dup-1"}\n{"name":"dup","certificateId":"dup-2"}\n',
        expect: [[1, 'created', undefined], [2, 'unchanged', undefined], [3, 'conflict', 'DEVICE_NAME_TAKEN']],
      },
      {
        name: 'a duplicate whose earlier row was refused: judged against the store, not against that row',
        body: '{"name":"held","certificateId":"n-1"}\n{"name":"held"}\n',
        expect: [[1, 'conflict', 'CERTIFICATE_ID_TAKEN'], [2, 'created', undefined]],
      },
      { name: 'a certificate ID another device has', body: '{"name":"thief","certificateId":"n-1"}\n', expect: [[1, 'conflict', 'CERTIFICATE_ID_TAKEN']] },
      { name: 'a ragged CSV row', contentType: 'text/csv', body: 'name\nok-1\nragged,extra\nok-2\n', expect: [[2, 'created', undefined], [3, 'invalid', 'IMPORT_ROW_INVALID'], [4, 'created', undefined]] },
    ];
    for (const row of refusedRows) {
      it(`row refused alone: ${row.name}`, async () => {
        const answer = await send(row.contentType ?? 'application/x-ndjson', row.body);
        assert.equal(answer.status, 200);
        assert.deepEqual(
          rowsOf(answer).map((r) => [r['line'], r['result'], r['code']]),
          row.expect,
        );
      });
    }

    it('a body that is not UTF-8: the row is refused with its line', async () => {
      const answer = await send('application/x-ndjson', Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}\n{"name":"utf8-ok"}\n')]));
      assert.deepEqual(
        rowsOf(answer).map((r) => [r['line'], r['result'], r['code']]),
        [
          [1, 'invalid', 'IMPORT_ROW_INVALID'],
          [2, 'created', undefined],
        ],
      );
    });

    const refusedBodies: readonly { name: string; contentType: string; body: string; status: number; code: string }[] = [
      { name: 'a CSV header naming neither name nor certificate_id', contentType: 'text/csv', body: 'serial,color\n01,red\n', status: 400, code: 'IMPORT_HEADER_INVALID' },
      { name: 'JSON instead of NDJSON or CSV', contentType: 'application/json', body: '[{"name":"x"}]', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
      { name: 'no content type', contentType: '', body: '{"name":"x"}\n', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
      { name: 'a bad report option', contentType: 'application/x-ndjson', body: '{"name":"x"}\n', status: 400, code: 'VALIDATION_FAILED' },
    ];
    for (const refused of refusedBodies) {
      it(`refuses the whole body, creating nothing: ${refused.name}`, async () => {
        const before = await deviceCount();
        const answer = await send(refused.contentType, refused.body, refused.code === 'VALIDATION_FAILED' ? '?report=some' : '');
        assert.deepEqual([answer.status, answer.body['code']], [refused.status, refused.code]);
        assert.equal(await deviceCount(), before);
      });
    }

    it('a body declared at 10 GiB is refused before it is read (BODY_TOO_LARGE, 413)', async () => {
      const url = new URL(`${api.server.httpUrl}/v1/projects/imports/devices/import`);
      const answer = await new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
        const req = request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'x-api-key': api.adminKey, 'content-type': 'text/csv', 'content-length': String(10 * 1024 ** 3) } }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }));
        });
        req.on('error', reject);
        req.write('name\nhuge-1\n');
      });
      assert.deepEqual([answer.status, answer.body['code']], [413, 'BODY_TOO_LARGE']);
    });

    it('JSON to the import path keeps the default body limit, before any key is asked for (BODY_TOO_LARGE)', async () => {
      // A connection of its own: the server ends it after refusing, which would spoil fetch's pool for the next test.
      const answer = await new Promise<{ status: number; code: string }>((resolve, reject) => {
        const req = request(`${api.server.httpUrl}/v1/projects/imports/devices/import`, { method: 'POST', agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, code: (JSON.parse(text) as { code: string }).code }));
        });
        // The server may refuse and close while the body is still going out: the answer, not the write, is what counts.
        req.on('error', (error) => setTimeout(() => reject(error), 500).unref());
        req.end(`{"x":"${'y'.repeat(2 * 1024 * 1024)}"}`);
      });
      assert.deepEqual([answer.status, answer.code], [413, 'BODY_TOO_LARGE']);
    });

    it('a client that goes away in the middle of a CSV import leaves the server serving', async () => {
      const url = new URL(`${api.server.httpUrl}/v1/projects/imports/devices/import`);
      await new Promise<void>((resolve) => {
        const req = request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'x-api-key': api.adminKey, 'content-type': 'text/csv' } }, (res) => {
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        });
        req.on('error', () => resolve());
        req.write('name\n' + Array.from({ length: 3000 }, (_, i) => `gone-${i}`).join('\n') + '\n');
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      // A connection of its own (fetch's pool may hold one the 413 above ended).
      const status = await new Promise<number>((resolve, reject) => request(`${api.server.httpUrl}/healthz`, { agent: false }, (res) => (res.resume(), resolve(res.statusCode ?? 0))).on('error', reject).end());
      assert.equal(status, 200, 'the server still serves');
    });

    it('20,000 ragged CSV rows are each refused with their line, as they come', async () => {
      const body = 'name\n' + Array.from({ length: 20_000 }, (_, i) => `r-${i},extra`).join('\n') + '\nfine-1\n';
      const answer = await send('text/csv', body, '?report=problems');
      assert.deepEqual(summaryOf(answer), { rows: 20_001, created: 1, unchanged: 0, conflict: 0, invalid: 20_000 });
      assert.deepEqual(rowsOf(answer)[19_999], { line: 20_001, result: 'invalid', code: 'IMPORT_ROW_INVALID', message: 'the header names 1 fields and this row has 2' });
    });

    it('a project key imports into its own project only', async () => {
      const key = (await api.call('POST', '/v1/projects/elsewhere/api-keys', { json: { name: 'factory' } })).body['key'] as string;
      const own = await send('application/x-ndjson', '{"name":"own-1"}\n', '', 'elsewhere', key);
      assert.deepEqual(summaryOf(own), { rows: 1, created: 1, unchanged: 0, conflict: 0, invalid: 0 });
      const other = await send('application/x-ndjson', '{"name":"other-1"}\n', '', 'imports', key);
      assert.deepEqual([other.status, other.body['code']], [403, 'PROJECT_ACCESS_DENIED']);
    });
  });
}
