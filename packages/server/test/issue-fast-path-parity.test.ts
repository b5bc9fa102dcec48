import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createCsr, encodePem, parseSubjectString } from '@fleetpki/pki';
import { startTestApi, type TestApi } from './helpers/api.js';
import { base64 } from './helpers/base64.js';
import { DIALECTS } from './helpers/stores.js';

/**
 * `POST …/pki/issue` is answered by a fast path in front of the management app (bench:pki);
 * the app's own route answers the same request when the fast path is not there. One table of
 * requests goes to both — the fast path over HTTP, the app through its fetch handler — and the
 * answers must agree in status, code and body (a certificate's own fields aside, which differ
 * by design: each request issues its own).
 */
interface Row {
  readonly name: string;
  readonly path?: string;
  readonly key?: 'admin' | 'project' | 'other' | 'none' | 'wrong';
  readonly headers?: Record<string, string>;
  readonly body: () => string | Buffer;
}

const csrPem = (subject: string): string => {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return encodePem('CERTIFICATE REQUEST', createCsr(parseSubjectString(subject), privateKey));
};

for (const dialect of DIALECTS) {
  describe(`the issue fast path answers as the app does [${dialect}]`, () => {
    let api: TestApi;
    const keys: Record<string, string> = {};

    before(async () => {
      api = await startTestApi(dialect);
      for (const slug of ['acme', 'other']) assert.equal((await api.call('POST', '/v1/projects', { json: { name: slug, slug } })).status, 201);
      assert.equal((await api.call('POST', '/v1/projects/acme/pki/cas', { json: { mode: 'generate', profile: { defaultDays: 30, maxDays: 90 } } })).status, 201);
      keys['admin'] = api.adminKey;
      keys['project'] = (await api.call('POST', '/v1/projects/acme/api-keys', { json: { name: 'line-1' } })).body['key'] as string;
      keys['other'] = (await api.call('POST', '/v1/projects/other/api-keys', { json: { name: 'line-2' } })).body['key'] as string;
      keys['wrong'] = `fpk_${'A'.repeat(43)}`;
    });
    after(() => api.close());

    const json = (value: unknown) => () => JSON.stringify(value);
    let serial = 0;
    const good = () => JSON.stringify({ csr: base64(csrPem(`/O=acme/CN=parity-${++serial}`)) });
    const rows: Row[] = [
      { name: 'a good CSR (admin key)', body: good },
      { name: 'a good CSR (the project’s key)', key: 'project', body: good },
      { name: 'a good CSR for 90 days', body: () => JSON.stringify({ csr: base64(csrPem(`/O=acme/CN=parity-${++serial}`)), days: 90 }) },
      { name: 'no key', key: 'none', body: good },
      { name: 'a wrong key', key: 'wrong', body: good },
      { name: 'another project’s key', key: 'other', body: good },
      { name: 'another project’s key on a project that does not exist', key: 'other', path: '/v1/projects/no-such/pki/issue', body: good },
      { name: 'a project that does not exist (admin)', path: '/v1/projects/no-such/pki/issue', body: good },
      { name: 'a project without a managed CA', path: '/v1/projects/other/pki/issue', body: good },
      { name: 'a path of broken percent-encoding', path: '/v1/projects/%E0%A4%A/pki/issue', body: good },
      { name: 'a form body', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: () => 'csr=abc' },
      { name: 'malformed JSON', body: () => '{"csr": ' },
      { name: 'a body that is not UTF-8', body: () => Buffer.from('{"csr":"\xc3\x28"}', 'latin1') },
      { name: 'an unknown field', body: json({ csr: 'AAAA', owner: 'me' }) },
      { name: 'days 0', body: json({ csr: 'AAAA', days: 0 }) },
      { name: 'days past the profile', body: () => JSON.stringify({ csr: base64(csrPem('/O=acme/CN=too-long')), days: 91 }) },
      { name: 'csr not base64', body: json({ csr: 'not base64!' }) },
      { name: 'csr not a CSR', body: json({ csr: base64('hello') }) },
      { name: 'a CSR for another project', body: () => JSON.stringify({ csr: base64(csrPem('/O=other/CN=x-1')) }) },
      { name: 'a declared body past 1 MiB', headers: { 'content-length': String(2 * 1024 * 1024) }, body: () => '{}' },
    ];

    const send = async (row: Row, via: 'fast path' | 'app'): Promise<{ status: number; body: Record<string, unknown> }> => {
      const headers: Record<string, string> = { 'content-type': 'application/json', ...(row.headers ?? {}) };
      const key = row.key ?? 'admin';
      if (key !== 'none') headers['x-api-key'] = keys[key] as string;
      const url = `${api.server.httpUrl}${row.path ?? '/v1/projects/acme/pki/issue'}`;
      const body = row.body();
      let response: Response;
      if (via === 'fast path') {
        if (row.headers?.['content-length']) {
          // fetch sets its own length: the declared-oversize case goes over a raw request.
          const { request } = await import('node:http');
          return new Promise((resolve, reject) => {
            const req = request(url, { method: 'POST', headers }, (res) => {
              let text = '';
              res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
              res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }));
            });
            req.on('error', reject);
            req.end(body);
          });
        }
        response = await fetch(url, { method: 'POST', headers, body });
      } else {
        response = await api.server.managementFetch(new Request(url, { method: 'POST', headers, body }));
      }
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };

    /** What must agree: everything but the fields a new certificate has of its own. */
    const comparable = (answer: { status: number; body: Record<string, unknown> }) => {
      const own = ['certificate', 'certificateId', 'serialNumber', 'fingerprintSha256', 'notAfter'];
      return { status: answer.status, body: Object.fromEntries(Object.entries(answer.body).map(([k, v]) => (own.includes(k) ? [k, typeof v] : [k, v]))) };
    };

    for (const row of rows) {
      it(row.name, async () => {
        const fast = await send(row, 'fast path');
        const app = await send(row, 'app');
        assert.deepEqual(comparable(fast), comparable(app));
        if (fast.status === 201) assert.deepEqual(Object.keys(fast.body).sort(), Object.keys(app.body).sort());
        else assert.equal(typeof fast.body['code'], 'string');
      });
    }
  });
}
