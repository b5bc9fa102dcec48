import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request, type OutgoingHttpHeaders } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { encodePem } from '@fleetpki/pki';
import { makeDevice, makeIntermediate, makeRoot } from '@fleetpki/test-support';
import { startTestApi, type TestApi } from './helpers/api.js';
import { base64 } from './helpers/base64.js';
import { eventually } from './helpers/eventually.js';
import { DIALECTS } from './helpers/stores.js';

const SECRET = 'table-test-shared-secret-abcdef';
const root = makeRoot('/CN=Table Root');
const issuing = makeIntermediate(root, '/CN=Table Issuing');
const direct = makeDevice(root, '/O=acme/CN=table-direct');
const underIntermediate = makeDevice(issuing, '/O=acme/CN=table-chained');
const foreign = makeDevice(makeRoot('/CN=Foreign Root'), '/O=acme/CN=table-foreign');

/** nginx's $ssl_client_escaped_cert: PEM, URL-escaped (nginx escapes '+', '/', '=', spaces and newlines). */
const nginxForm = (...ders: Buffer[]): string => encodeURIComponent(ders.map((der) => encodePem('CERTIFICATE', der)).join(''));
/** Traefik v3's passTLSClientCert: base64 DER per certificate, comma-separated, leaf first. */
const traefikForm = (...ders: Buffer[]): string => ders.map((der) => der.toString('base64')).join(',');
/** Traefik before v3: the same, each certificate URL-escaped. */
const traefikEscapedForm = (...ders: Buffer[]): string => ders.map((der) => encodeURIComponent(der.toString('base64'))).join(',');

interface Answer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Record<string, unknown>;
}

/** One request to the forward-auth listener with exactly these headers (an array value repeats the header). */
function ask(url: string, headers: OutgoingHttpHeaders, options: { method?: string; path?: string } = {}): Promise<Answer> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: target.hostname, port: target.port, path: options.path ?? target.pathname, method: options.method ?? 'GET', headers, agent: false }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} }));
    });
    req.setTimeout(10_000, () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

interface Case {
  readonly name: string;
  readonly headers: OutgoingHttpHeaders;
  readonly status: number;
  readonly code: string;
  /** FORWARD_AUTH_HEADER_INVALID's reason, when the case is one. */
  readonly reason?: string;
  readonly certificateId?: string;
  readonly method?: string;
  readonly path?: string;
}

const secret = { 'fleetpki-forward-auth-secret': SECRET };
const NGINX_CASES: readonly Case[] = [
  { name: 'a device certificate, nginx form', headers: { ...secret, 'x-ssl-client-cert': nginxForm(direct.cert.der) }, status: 200, code: 'OK', certificateId: 'table-direct' },
  { name: 'leaf and intermediate, nginx form', headers: { ...secret, 'x-ssl-client-cert': nginxForm(underIntermediate.cert.der, issuing.cert.der) }, status: 200, code: 'OK', certificateId: 'table-chained' },
  { name: 'no certificate header', headers: { ...secret }, status: 401, code: 'NO_CLIENT_CERTIFICATE' },
  { name: 'an empty certificate header (nginx: no client certificate)', headers: { ...secret, 'x-ssl-client-cert': '' }, status: 401, code: 'NO_CLIENT_CERTIFICATE' },
  { name: "Traefik's header, which this listener does not read", headers: { ...secret, 'x-forwarded-tls-client-cert': traefikForm(direct.cert.der) }, status: 401, code: 'NO_CLIENT_CERTIFICATE' },
  { name: 'no shared secret', headers: { 'x-ssl-client-cert': nginxForm(direct.cert.der) }, status: 401, code: 'FORWARD_AUTH_SECRET_INVALID' },
  { name: 'a wrong shared secret', headers: { 'fleetpki-forward-auth-secret': `${SECRET}x`, 'x-ssl-client-cert': nginxForm(direct.cert.der) }, status: 401, code: 'FORWARD_AUTH_SECRET_INVALID' },
  { name: 'malformed: not PEM', headers: { ...secret, 'x-ssl-client-cert': 'hello%20world' }, status: 400, code: 'FORWARD_AUTH_HEADER_INVALID', reason: 'pem' },
  { name: 'bad URL-escaping', headers: { ...secret, 'x-ssl-client-cert': `${nginxForm(direct.cert.der).slice(0, 40)}%E0%A4%A` }, status: 400, code: 'FORWARD_AUTH_HEADER_INVALID', reason: 'url-escaping' },
  { name: 'a PEM block that is not a certificate (a key)', headers: { ...secret, 'x-ssl-client-cert': encodeURIComponent(direct.keyPem) }, status: 400, code: 'FORWARD_AUTH_HEADER_INVALID', reason: 'pem' },
  { name: 'not a certificate: random bytes in a CERTIFICATE block', headers: { ...secret, 'x-ssl-client-cert': nginxForm(randomBytes(300)) }, status: 400, code: 'FORWARD_AUTH_HEADER_INVALID', reason: 'der' },
  { name: 'a DER SEQUENCE that is no certificate: refused by the identity service', headers: { ...secret, 'x-ssl-client-cert': nginxForm(Buffer.from([0x30, 0x03, 0x02, 0x01, 0x05])) }, status: 403, code: 'CERT_UNPARSABLE' },
  { name: 'more than 8 certificates', headers: { ...secret, 'x-ssl-client-cert': nginxForm(...Array.from({ length: 9 }, () => direct.cert.der)) }, status: 400, code: 'FORWARD_AUTH_HEADER_INVALID', reason: 'too-many-certificates' },
  { name: 'oversize header (33 KiB)', headers: { ...secret, 'x-ssl-client-cert': 'A'.repeat(33 * 1024) }, status: 400, code: 'FORWARD_AUTH_HEADER_TOO_LARGE' },
  { name: 'the certificate header twice', headers: { ...secret, 'x-ssl-client-cert': [nginxForm(direct.cert.der), nginxForm(foreign.cert.der)] }, status: 400, code: 'FORWARD_AUTH_HEADER_INVALID', reason: 'repeated' },
  { name: "a certificate of a CA the project does not hold", headers: { ...secret, 'x-ssl-client-cert': nginxForm(foreign.cert.der), 'x-real-ip': '203.0.113.7' }, status: 403, code: 'UNKNOWN_ISSUER' },
  { name: 'another path', headers: { ...secret }, status: 404, code: 'ROUTE_NOT_FOUND', path: '/v1/device/identity' },
  { name: 'POST', headers: { ...secret, 'x-ssl-client-cert': nginxForm(direct.cert.der) }, status: 405, code: 'METHOD_NOT_ALLOWED', method: 'POST' },
];

const TRAEFIK_CASES: readonly Case[] = [
  { name: 'Traefik form, one certificate', headers: { 'x-forwarded-tls-client-cert': traefikForm(direct.cert.der) }, status: 200, code: 'OK', certificateId: 'table-direct' },
  { name: 'Traefik form, leaf and intermediate', headers: { 'x-forwarded-tls-client-cert': traefikForm(underIntermediate.cert.der, issuing.cert.der) }, status: 200, code: 'OK', certificateId: 'table-chained' },
  { name: 'Traefik form before v3 (URL-escaped), chained', headers: { 'x-forwarded-tls-client-cert': traefikEscapedForm(underIntermediate.cert.der, issuing.cert.der) }, status: 200, code: 'OK', certificateId: 'table-chained' },
  { name: 'Traefik form, not base64', headers: { 'x-forwarded-tls-client-cert': 'MIIB!!!,abc' }, status: 400, code: 'FORWARD_AUTH_HEADER_INVALID', reason: 'base64' },
  { name: 'Traefik form, an empty entry', headers: { 'x-forwarded-tls-client-cert': `${traefikForm(direct.cert.der)},` }, status: 400, code: 'FORWARD_AUTH_HEADER_INVALID', reason: 'base64' },
  { name: 'Traefik form, bad URL-escaping', headers: { 'x-forwarded-tls-client-cert': 'MIIB%2' }, status: 400, code: 'FORWARD_AUTH_HEADER_INVALID', reason: 'url-escaping' },
  { name: 'Traefik form, base64 of no certificate', headers: { 'x-forwarded-tls-client-cert': randomBytes(120).toString('base64') }, status: 400, code: 'FORWARD_AUTH_HEADER_INVALID', reason: 'der' },
  { name: "nginx's header, which this listener does not read", headers: { 'x-ssl-client-cert': nginxForm(direct.cert.der) }, status: 401, code: 'NO_CLIENT_CERTIFICATE' },
];

function check(answer: Answer, expected: Case): void {
  assert.equal(answer.status, expected.status, JSON.stringify(answer.body));
  if (expected.status === 200) {
    assert.equal(answer.headers['fleetpki-project'], 'acme');
    assert.equal(answer.headers['fleetpki-certificate-id'], expected.certificateId);
    assert.equal(answer.headers['fleetpki-device'], answer.body['deviceId']);
    assert.equal(answer.headers['fleetpki-refusal-code'], undefined);
    assert.equal(answer.body['certificateId'], expected.certificateId);
    return;
  }
  assert.equal(answer.headers['content-type'], 'application/problem+json');
  assert.equal(answer.body['code'], expected.code);
  assert.equal(answer.headers['fleetpki-refusal-code'], expected.code);
  assert.equal(answer.headers['fleetpki-device'], undefined);
  if (expected.reason !== undefined) assert.equal(answer.body['reason'], expected.reason);
  if (expected.code === 'FORWARD_AUTH_HEADER_TOO_LARGE') assert.equal(answer.body['maxBytes'], 32 * 1024);
}

for (const dialect of DIALECTS) {
  describe(`GET /v1/forward-auth, straight to the listener: each header its status and code [${dialect}]`, () => {
    let nginxMode: TestApi;
    let traefikMode: TestApi;
    before(async () => {
      nginxMode = await startTestApi(dialect, { serve: { forwardAuthPort: 0, forwardAuthSecret: SECRET } });
      traefikMode = await startTestApi(dialect, { serve: { forwardAuthPort: 0, forwardAuthCertHeader: 'x-forwarded-tls-client-cert', env: {} } });
      for (const api of [nginxMode, traefikMode]) {
        assert.equal((await api.call('POST', '/v1/projects', { json: { name: 'Acme', slug: 'acme' } })).status, 201);
        assert.equal((await api.call('POST', '/v1/projects/acme/certificates', { json: { certFile: base64(root.pem) } })).status, 201);
      }
    });
    after(async () => {
      await nginxMode.close();
      await traefikMode.close();
    });

    for (const expected of NGINX_CASES) {
      it(`nginx mode with a shared secret: ${expected.name} → ${expected.status} ${expected.code}`, async () => {
        check(await ask(nginxMode.server.forwardAuthUrl as string, expected.headers, expected), expected);
      });
    }
    for (const expected of TRAEFIK_CASES) {
      it(`Traefik mode: ${expected.name} → ${expected.status} ${expected.code}`, async () => {
        check(await ask(traefikMode.server.forwardAuthUrl as string, expected.headers, expected), expected);
      });
    }

    it('HEAD answers the identity headers without a body', async () => {
      const answer = await ask(nginxMode.server.forwardAuthUrl as string, { ...secret, 'x-ssl-client-cert': nginxForm(direct.cert.der) }, { method: 'HEAD' });
      assert.equal(answer.status, 200);
      assert.equal(answer.headers['fleetpki-certificate-id'], 'table-direct');
      assert.deepEqual(answer.body, {});
    });

    it('refusals are audited with transport forward-auth and the address from X-Real-IP', async () => {
      const failures = await eventually(
        async () => ((await nginxMode.call('GET', '/v1/audit?action=device.authentication-failed&perPage=200')).body['list'] as { details: { code: string; transport: string; remoteAddress: string } }[]).map((e) => e.details),
        (list) => list.some((f) => f.code === 'UNKNOWN_ISSUER') && list.some((f) => f.code === 'CERT_UNPARSABLE'),
      );
      const unknown = failures.find((f) => f.code === 'UNKNOWN_ISSUER');
      assert.equal(unknown?.transport, 'forward-auth');
      assert.equal(unknown?.remoteAddress, '203.0.113.7');
      assert.equal(failures.find((f) => f.code === 'CERT_UNPARSABLE')?.transport, 'forward-auth');
      // Header faults never reach the identity service: nothing to audit for them.
      assert.ok(!failures.some((f) => f.code.startsWith('FORWARD_AUTH_')));
    });

    it('/metrics counts the answers by status and code, and the verdicts under transport forward-auth', async () => {
      const text = (await nginxMode.call('GET', '/metrics')).text;
      assert.match(text, /^fleetpki_forward_auth_answers_total\{status="200",code="OK"\} [1-9]/m);
      assert.match(text, /^fleetpki_forward_auth_answers_total\{status="400",code="FORWARD_AUTH_HEADER_INVALID"\} [1-9]/m);
      assert.match(text, /^fleetpki_forward_auth_answers_total\{status="401",code="FORWARD_AUTH_SECRET_INVALID"\} 2$/m);
      assert.match(text, /^fleetpki_device_authentications_total\{transport="forward-auth",outcome="refused",code="UNKNOWN_ISSUER"\} 1$/m);
    });
  });
}
