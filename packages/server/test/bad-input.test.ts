import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { makeDevice, makeIntermediate, makeRoot } from '@fleetpki/test-support';
import { startTestApi, type ApiResponse, type TestApi } from './helpers/api.js';
import { base64 } from './helpers/base64.js';
import { storeSnapshot } from './helpers/snapshot.js';
import { DIALECTS } from './helpers/stores.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/** Issue 4's list of bad inputs: each gets a 4xx with a specific code and changes nothing. */
for (const dialect of DIALECTS) {
  describe(`bad input is refused with a code and changes nothing [${dialect}]`, () => {
    let api: TestApi;
    let otherProjectKey: string;
    const root = makeRoot('/CN=Acme Root');
    const intermediate = makeIntermediate(root, '/CN=Acme Issuing');

    before(async () => {
      api = await startTestApi(dialect);
      assert.equal((await api.call('POST', '/v1/projects', { json: { name: 'Acme', slug: 'acme' } })).status, 201);
      assert.equal((await api.call('POST', '/v1/projects', { json: { name: 'Other', slug: 'other' } })).status, 201);
      const key = await api.call('POST', '/v1/projects/other/api-keys', { json: { name: 'ci' } });
      assert.equal(key.status, 201);
      otherProjectKey = key.body['key'] as string;
    });
    after(() => api.close());

    const upload = (certFile: string, certType?: string) => ({ json: certType ? { certFile, certType } : { certFile } });
    const cases: { name: string; request: () => Promise<ApiResponse>; status: number; code: string }[] = [
      { name: 'a device certificate uploaded as a CA', request: () => api.call('POST', '/v1/projects/acme/certificates', upload(base64(makeDevice(intermediate, '/O=acme/CN=dev-1').pem))), status: 422, code: 'CA_NOT_A_CA' },
      {
        name: 'an expired CA',
        request: () => api.call('POST', '/v1/projects/acme/certificates', upload(base64(makeRoot('/CN=Old Root', { from: new Date(Date.now() - 400 * DAY_MS), days: 30 }).pem)))
        ,
        status: 422,
        code: 'CA_EXPIRED',
      },
      {
        name: 'a CA that is not valid yet',
        request: () => api.call('POST', '/v1/projects/acme/certificates', upload(base64(makeRoot('/CN=Future Root', { from: new Date(Date.now() + 10 * DAY_MS) }).pem))),
        status: 422,
        code: 'CA_NOT_YET_VALID',
      },
      { name: 'a non-self-signed root', request: () => api.call('POST', '/v1/projects/acme/certificates', upload(base64(intermediate.pem), 'root')), status: 422, code: 'CA_ROOT_NOT_SELF_SIGNED' },
      {
        name: 'a root whose self-signature is broken',
        request: () => {
          const der = Buffer.from(root.cert.der);
          der[der.length - 3] = (der[der.length - 3] as number) ^ 0x01;
          return api.call('POST', '/v1/projects/acme/certificates', upload(base64(der), 'root'));
        },
        status: 422,
        code: 'CA_ROOT_SIGNATURE_INVALID',
      },
      { name: 'garbage base64', request: () => api.call('POST', '/v1/projects/acme/certificates', upload('this is %% not base64!')), status: 400, code: 'CERT_FILE_INVALID_BASE64' },
      { name: 'garbage PEM', request: () => api.call('POST', '/v1/projects/acme/certificates', upload(base64('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'))), status: 400, code: 'CERT_FILE_UNPARSABLE' },
      { name: 'bytes that are neither PEM nor DER', request: () => api.call('POST', '/v1/projects/acme/certificates', upload(base64('hello, world'))), status: 400, code: 'CERT_FILE_UNPARSABLE' },
      {
        name: 'a private key pasted with the certificate',
        request: () => api.call('POST', '/v1/projects/acme/certificates', upload(base64(root.pem + root.key.export({ type: 'pkcs8', format: 'pem' }).toString()))),
        status: 400,
        code: 'CERT_FILE_UNPARSABLE',
      },
      { name: 'an unknown certType', request: () => api.call('POST', '/v1/projects/acme/certificates', upload(base64(root.pem), 'leaf')), status: 400, code: 'VALIDATION_FAILED' },
      { name: 'a 5 MB body', request: () => api.call('POST', '/v1/projects/acme/certificates', { json: { certFile: 'A'.repeat(5 * 1024 * 1024) } }), status: 413, code: 'BODY_TOO_LARGE' },
      { name: 'malformed JSON', request: () => api.call('POST', '/v1/projects', { rawBody: '{"name": "x",', headers: { 'content-type': 'application/json' } }), status: 400, code: 'MALFORMED_JSON' },
      { name: 'a body that is not JSON at all', request: () => api.call('POST', '/v1/projects', { rawBody: 'name=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
      { name: 'an unknown field', request: () => api.call('POST', '/v1/projects', { json: { name: 'X', slug: 'x-1', owner: 'me' } }), status: 400, code: 'VALIDATION_FAILED' },
      { name: 'an unknown project', request: () => api.call('POST', '/v1/projects/nope/devices', { json: { name: 'sensor-1' } }), status: 404, code: 'PROJECT_NOT_FOUND' },
      { name: 'an invalid slug', request: () => api.call('POST', '/v1/projects', { json: { name: 'Bad', slug: 'Bad_Slug' } }), status: 400, code: 'PROJECT_SLUG_INVALID' },
      { name: 'a one-character slug', request: () => api.call('POST', '/v1/projects', { json: { name: 'Bad', slug: 'a' } }), status: 400, code: 'PROJECT_SLUG_INVALID' },
      { name: 'a duplicate slug', request: () => api.call('POST', '/v1/projects', { json: { name: 'Acme again', slug: 'acme' } }), status: 409, code: 'PROJECT_SLUG_TAKEN' },
      { name: 'a project key used on another project', request: () => api.call('POST', '/v1/projects/acme/devices', { key: otherProjectKey, json: { name: 'sensor-9' } }), status: 403, code: 'PROJECT_ACCESS_DENIED' },
      { name: 'a project key creating a project', request: () => api.call('POST', '/v1/projects', { key: otherProjectKey, json: { name: 'Mine', slug: 'mine' } }), status: 403, code: 'ADMIN_KEY_REQUIRED' },
      { name: 'a project key deleting its project', request: () => api.call('DELETE', '/v1/projects/other', { key: otherProjectKey }), status: 403, code: 'ADMIN_KEY_REQUIRED' },
      { name: 'a missing key', request: () => api.call('POST', '/v1/projects', { key: null, json: { name: 'X', slug: 'xx' } }), status: 401, code: 'API_KEY_MISSING' },
      { name: 'a wrong key of the right shape', request: () => api.call('POST', '/v1/projects', { key: `fpk_${'A'.repeat(43)}`, json: { name: 'X', slug: 'xx' } }), status: 401, code: 'API_KEY_INVALID' },
      { name: 'a wrong key of any shape', request: () => api.call('GET', '/v1/projects', { key: 'let-me-in' }), status: 401, code: 'API_KEY_INVALID' },
      { name: 'an invalid certificate ID', request: () => api.call('POST', '/v1/projects/acme/devices', { json: { name: 'sensor-x', certificateId: 'has space' } }), status: 400, code: 'CERTIFICATE_ID_INVALID' },
      { name: 'an empty device name', request: () => api.call('POST', '/v1/projects/acme/devices', { json: { name: '' } }), status: 400, code: 'DEVICE_NAME_INVALID' },
      { name: 'perPage above the bound', request: () => api.call('GET', '/v1/projects/acme/devices?perPage=100000'), status: 400, code: 'VALIDATION_FAILED' },
      { name: 'an unknown route', request: () => api.call('GET', '/v1/nothing-here'), status: 404, code: 'ROUTE_NOT_FOUND' },
      // Format characters (Unicode Cf) and separators make a displayed name read as another.
      { name: 'a project name with a right-to-left override (U+202E)', request: () => api.call('POST', '/v1/projects', { json: { name: 'Acme\u202Egpj.exe', slug: 'rlo' } }), status: 400, code: 'VALIDATION_FAILED' },
      { name: 'a device name with a zero-width space (U+200B)', request: () => api.call('POST', '/v1/projects/acme/devices', { json: { name: 'sensor\u200B-1' } }), status: 400, code: 'VALIDATION_FAILED' },
      { name: 'a device name with a first-strong isolate (U+2068)', request: () => api.call('POST', '/v1/projects/acme/devices', { json: { name: '\u2068sensor-1' } }), status: 400, code: 'VALIDATION_FAILED' },
      { name: 'a device name with a line separator (U+2028)', request: () => api.call('POST', '/v1/projects/acme/devices', { json: { name: 'sensor\u2028-1' } }), status: 400, code: 'VALIDATION_FAILED' },
      { name: 'an API key name with a byte-order mark (U+FEFF)', request: () => api.call('POST', '/v1/projects/acme/api-keys', { json: { name: '\uFEFFci' } }), status: 400, code: 'VALIDATION_FAILED' },
      { name: 'a project rename with a left-to-right embedding (U+202A)', request: () => api.call('PATCH', '/v1/projects/acme', { json: { name: 'Acme\u202A' } }), status: 400, code: 'VALIDATION_FAILED' },
      { name: 'a device name with a lone surrogate (\\ud800)', request: () => api.call('POST', '/v1/projects/acme/devices', { rawBody: '{"name":"sensor-\\ud800"}', headers: { 'content-type': 'application/json' } }), status: 400, code: 'VALIDATION_FAILED' },
      // No slug enumeration: a project key gets the same answer for a project that exists and one that does not.
      { name: 'a project key used on a project that does not exist', request: () => api.call('POST', '/v1/projects/no-such-project/devices', { key: otherProjectKey, json: { name: 'sensor-9' } }), status: 403, code: 'PROJECT_ACCESS_DENIED' },
    ];

    it('a project key asking for another project: one answer whether that project exists or not (status, code, detail)', async () => {
      const routes: [method: string, path: (slug: string) => string, json?: unknown][] = [
        ['GET', (p) => `/v1/projects/${p}`],
        ['GET', (p) => `/v1/projects/${p}/devices`],
        ['POST', (p) => `/v1/projects/${p}/devices`, { name: 'sensor-9' }],
        ['GET', (p) => `/v1/projects/${p}/certificates`],
        ['GET', (p) => `/v1/projects/${p}/audit`],
        ['GET', (p) => `/v1/projects/${p}/api-keys`],
        ['POST', (p) => `/v1/projects/${p}/pki/issue`, { csr: 'AAAA' }],
        ['GET', (p) => `/v1/projects/${p}/pki/cas`],
      ];
      for (const [method, path, json] of routes) {
        const answers = await Promise.all(['acme', 'nope-missing'].map((slug) => api.call(method, path(slug), { key: otherProjectKey, ...(json ? { json } : {}) })));
        const [existing, missing] = answers.map((a) => ({ status: a.status, code: a.body['code'], detail: String(a.body['detail']).replace(/acme|nope-missing/g, 'SLUG') }));
        assert.deepEqual(missing, existing, `${method} ${path('SLUG')}`);
        assert.equal(existing?.code, 'PROJECT_ACCESS_DENIED', `${method} ${path('SLUG')}`);
      }
    });

    for (const c of cases) {
      it(c.name, async () => {
        const before = await storeSnapshot(api.server);
        const response = await c.request();
        assert.equal(response.status, c.status, response.text);
        assert.equal(response.contentType, 'application/problem+json');
        assert.equal(response.body['code'], c.code);
        assert.equal(response.body['status'], c.status);
        assert.equal(typeof response.body['detail'], 'string');
        assert.equal(await storeSnapshot(api.server), before, 'a refused request must not change the store');
      });
    }
  });
}
