import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeDevice, makeRoot, type Issued } from '@fleetpki/test-support';
import { gatewayOf, startTestApi, type TestApi } from './helpers/api.js';
import { base64 } from './helpers/base64.js';
import { runTool } from './helpers/coap-clients.js';
import { curl } from './helpers/curl.js';
import { writeDeviceFiles, type DeviceFiles } from './helpers/device-clients.js';
import { verifyInSeparateProcess, type Verification } from './helpers/device-token-verifier.js';
import { eventually } from './helpers/eventually.js';
import { DIALECTS } from './helpers/stores.js';

const API = 'https://api.acme.example';
const TELEMETRY = 'https://telemetry.acme.example';
const LIFETIME = 120;
/** The test's publish lead: a rotated key signs this long after it is published. */
const PUBLISH_LEAD_SECONDS = 30;
const PSK = 'correct horse battery staple';

interface TokenAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly headers: string;
  // Tests read fields by name; the shapes are asserted there.
  readonly body: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

const x5tS256 = (device: Issued): string => createHash('sha256').update(device.der).digest('base64url');

for (const dialect of DIALECTS) {
  describe(`device identity tokens over mTLS, RFC 8705 [${dialect}]`, () => {
    let api: TestApi;
    let serverCaFile: string;
    let port: number;
    let root: Issued;
    let dir: string;
    /** The server's clock runs this far ahead of the real one (rotation and expiry without waiting). */
    let offsetMs = 0;
    const now = () => new Date(Date.now() + offsetMs);

    before(async () => {
      api = await startTestApi(dialect, { now, serve: { tokenKeys: { publishLeadSeconds: PUBLISH_LEAD_SECONDS, refreshMs: 50 } } });
      dir = mkdtempSync(join(tmpdir(), 'fleetpki-tokens-'));
      for (const slug of ['acme', 'solo']) assert.equal((await api.call('POST', '/v1/projects', { json: { name: slug, slug } })).status, 201);
      root = makeRoot('/CN=Token Root');
      for (const slug of ['acme', 'solo']) assert.equal((await api.call('POST', `/v1/projects/${slug}/certificates`, { json: { certFile: base64(root.pem) } })).status, 201);
      const acme = await api.call('PATCH', '/v1/projects/acme', { json: { settings: { tokenAudiences: [API, TELEMETRY], tokenLifetimeSeconds: LIFETIME } } });
      assert.equal(acme.status, 200, acme.text);
      assert.deepEqual(acme.body['settings']['tokenAudiences'], [API, TELEMETRY]);
      assert.equal((await api.call('PATCH', '/v1/projects/solo', { json: { settings: { tokenAudiences: [API] } } })).status, 200);
      serverCaFile = (await gatewayOf(api)).serverCaFile;
      port = Number(new URL(api.server.gatewayUrl).port);
    });
    after(async () => {
      await api.close();
      rmSync(dir, { recursive: true, force: true });
    });

    const device = (project: string, id: string): { cert: Issued; files: DeviceFiles } => {
      const cert = makeDevice(root, `/O=${project}/CN=${id}`);
      return { cert, files: writeDeviceFiles(dir, `${project}-${id}`, cert.pem, cert.keyPem) };
    };

    /** curl POST /v1/token with the device's certificate; `data` are curl's body arguments. */
    const requestToken = async (files: DeviceFiles | undefined, data: readonly string[], path = '/v1/token'): Promise<TokenAnswer> => {
      const headersFile = join(dir, `headers-${Math.random().toString(36).slice(2)}`);
      const result = await curl(['--cacert', serverCaFile, ...(files ? ['--cert', files.cert, '--key', files.key] : []), '-D', headersFile, ...data, `https://localhost:${port}${path}`]);
      assert.equal(result.curlExit, 0);
      const headers = readFileSync(headersFile, 'utf8');
      rmSync(headersFile);
      const text = result.body.toString('utf8');
      return { status: result.status, contentType: result.contentType, headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
    };
    const form = (fields: Record<string, string>): string[] => Object.entries(fields).flatMap(([name, value]) => ['--data-urlencode', `${name}=${value}`]);
    const json = (body: unknown): string[] => ['-H', 'content-type: application/json', '--data-binary', JSON.stringify(body)];
    const verify = (audience: string, tokens: { token: string; cert: Issued }[]): Promise<Verification[]> =>
      verifyInSeparateProcess({
        jwksUrl: `${api.server.httpUrl}/.well-known/jwks.json`,
        issuer: api.server.httpUrl,
        audience,
        currentDate: now().toISOString(),
        tokens: tokens.map((t) => ({ token: t.token, certificatePem: t.cert.pem })),
      });
    const deviceIdOf = async (project: string, certificateId: string): Promise<string> => {
      const list = (await api.call('GET', `/v1/projects/${project}/devices?certificateId=${certificateId}`)).body['list'] as { id: string }[];
      assert.equal(list.length, 1);
      return (list[0] as { id: string }).id;
    };

    it('a form-encoded request gets a token that a separate process verifies against the JWKS, bound to the certificate', async () => {
      const { cert, files } = device('acme', 'tok-form');
      const answer = await requestToken(files, form({ grant_type: 'client_credentials', audience: API }));
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assert.match(answer.contentType, /^application\/json/);
      assert.match(answer.headers, /^cache-control: no-store\r?$/im);
      assert.equal(answer.body['token_type'], 'Bearer');
      assert.equal(answer.body['expires_in'], LIFETIME);
      const [verified] = await verify(API, [{ token: answer.body['access_token'], cert }]);
      assert.ok(verified?.ok, JSON.stringify(verified));
      assert.equal(verified.typ, 'at+jwt');
      assert.equal(verified.boundToCertificate, true);
      const { payload } = verified;
      assert.equal(payload.iss, api.server.httpUrl);
      assert.equal(payload.aud, API);
      assert.equal(payload.sub, await deviceIdOf('acme', 'tok-form'));
      assert.equal(payload['fleetpki:project'], 'acme');
      assert.equal(payload['fleetpki:certificate_id'], 'tok-form');
      assert.equal(payload['client_id'], 'tok-form');
      assert.deepEqual(payload['cnf'], { 'x5t#S256': x5tS256(cert) });
      assert.equal((payload.exp as number) - (payload.iat as number), LIFETIME);
      assert.equal(payload.nbf, payload.iat);
      assert.match(payload.jti as string, /^[0-9a-f-]{36}$/);
      // The verifier for another audience refuses it.
      const [elsewhere] = await verify(TELEMETRY, [{ token: answer.body['access_token'], cert }]);
      assert.deepEqual(elsewhere && !elsewhere.ok && elsewhere.error, 'ERR_JWT_CLAIM_VALIDATION_FAILED');
    });

    it('a JSON request too; asked again, a fresh token with its own jti and the whole lifetime', async () => {
      const { cert, files } = device('acme', 'tok-json');
      const ask = (extra: Record<string, string> = {}) => requestToken(files, json({ grant_type: 'client_credentials', audience: TELEMETRY, ...extra }));
      const first = await ask({ client_id: 'tok-json' });
      assert.equal(first.status, 200, JSON.stringify(first.body));
      offsetMs += 5_000;
      const again = await ask({ scope: 'ignored' });
      assert.equal(again.status, 200, JSON.stringify(again.body));
      assert.notEqual(again.body['access_token'], first.body['access_token']);
      assert.equal(again.body['expires_in'], LIFETIME);
      const results = await verify(TELEMETRY, [first, again].map((a) => ({ token: a.body['access_token'] as string, cert })));
      for (const r of results) assert.ok(r.ok && r.boundToCertificate, JSON.stringify(r));
      assert.notEqual(results[0]?.ok && results[0].payload.jti, results[1]?.ok && results[1].payload.jti);
      // iat is in whole seconds of the server's clock: 5 s moved on, plus the real time between the
      // two requests, which may carry it over one more second boundary.
      const apart = results[1]?.ok && results[0]?.ok ? (results[1].payload.iat as number) - (results[0].payload.iat as number) : -1;
      assert.ok(apart === 5 || apart === 6, `iat moved by ${apart} s`);
    });

    it('without audience, a project with exactly one gets that one', async () => {
      const { cert, files } = device('solo', 'tok-solo');
      const answer = await requestToken(files, form({ grant_type: 'client_credentials' }));
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      const [verified] = await verify(API, [{ token: answer.body['access_token'], cert }]);
      assert.ok(verified?.ok && verified.payload['fleetpki:project'] === 'solo', JSON.stringify(verified));
    });

    it('bad requests: each its OAuth error and its code, nothing issued', async () => {
      const { files } = device('acme', 'tok-bad');
      const invalidUtf8 = join(dir, 'invalid-utf8');
      writeFileSync(invalidUtf8, Buffer.from([0x67, 0x72, 0x61, 0x6e, 0x74, 0x5f, 0x74, 0x79, 0x70, 0x65, 0x3d, 0xff, 0xfe]));
      const cases: { name: string; data: string[]; status: number; error: string; code: string; facts?: Record<string, unknown> }[] = [
        { name: 'audience not allowed', data: form({ grant_type: 'client_credentials', audience: 'https://evil.example' }), status: 400, error: 'invalid_target', code: 'TOKEN_AUDIENCE_NOT_ALLOWED', facts: { audience: 'https://evil.example' } },
        { name: 'grant_type password', data: form({ grant_type: 'password', audience: API }), status: 400, error: 'unsupported_grant_type', code: 'TOKEN_GRANT_TYPE_UNSUPPORTED', facts: { grantType: 'password' } },
        { name: 'grant_type missing', data: form({ audience: API }), status: 400, error: 'invalid_request', code: 'TOKEN_REQUEST_INVALID', facts: { reason: 'grant-type-missing' } },
        { name: 'audience missing, two allowed', data: form({ grant_type: 'client_credentials' }), status: 400, error: 'invalid_request', code: 'TOKEN_REQUEST_INVALID', facts: { reason: 'audience-missing' } },
        { name: 'a broken percent-escape', data: ['--data-binary', 'grant_type=client%zzcredentials'], status: 400, error: 'invalid_request', code: 'TOKEN_REQUEST_INVALID', facts: { reason: 'malformed-form' } },
        { name: 'grant_type twice', data: ['--data-binary', 'grant_type=client_credentials&grant_type=client_credentials'], status: 400, error: 'invalid_request', code: 'TOKEN_REQUEST_INVALID', facts: { reason: 'duplicate-parameter' } },
        { name: 'a body that is not UTF-8', data: ['--data-binary', `@${invalidUtf8}`], status: 400, error: 'invalid_request', code: 'TOKEN_REQUEST_INVALID', facts: { reason: 'encoding' } },
        { name: 'malformed JSON', data: ['-H', 'content-type: application/json', '--data-binary', '{"grant_type":'], status: 400, error: 'invalid_request', code: 'TOKEN_REQUEST_INVALID', facts: { reason: 'malformed-json' } },
        { name: 'a JSON array', data: json(['client_credentials']), status: 400, error: 'invalid_request', code: 'TOKEN_REQUEST_INVALID', facts: { reason: 'not-an-object' } },
        { name: 'a JSON audience that is no string', data: json({ grant_type: 'client_credentials', audience: [API] }), status: 400, error: 'invalid_request', code: 'TOKEN_REQUEST_INVALID', facts: { reason: 'parameter-type' } },
        { name: 'text/plain', data: ['-H', 'content-type: text/plain', '--data-binary', 'grant_type=client_credentials'], status: 400, error: 'invalid_request', code: 'TOKEN_REQUEST_INVALID', facts: { reason: 'content-type' } },
        { name: 'client_id of another certificate', data: form({ grant_type: 'client_credentials', audience: API, client_id: 'someone-else' }), status: 400, error: 'invalid_client', code: 'TOKEN_REQUEST_INVALID', facts: { reason: 'client-id-mismatch' } },
        { name: 'an oversize body', data: ['--data-binary', `grant_type=client_credentials&audience=${'a'.repeat(5000)}`], status: 413, error: 'invalid_request', code: 'BODY_TOO_LARGE', facts: { maxBytes: 4096 } },
      ];
      for (const c of cases) {
        const answer = await requestToken(files, c.data);
        assert.equal(answer.status, c.status, `${c.name}: ${JSON.stringify(answer.body)}`);
        assert.equal(answer.body['error'], c.error, c.name);
        assert.equal(answer.body['code'], c.code, c.name);
        assert.equal(typeof answer.body['error_description'], 'string', c.name);
        assert.equal(answer.body['access_token'], undefined, c.name);
        assert.match(answer.headers, /^cache-control: no-store\r?$/im, c.name);
        for (const [name, value] of Object.entries(c.facts ?? {})) assert.deepEqual(answer.body[name], value, `${c.name}: ${name}`);
      }
    });

    it('no client certificate, a disabled device and a revoked certificate get no token (their codes)', async () => {
      const none = await requestToken(undefined, form({ grant_type: 'client_credentials', audience: API }));
      assert.equal(none.status, 401);
      assert.deepEqual([none.body['error'], none.body['code']], ['invalid_client', 'NO_CLIENT_CERTIFICATE']);

      const disabled = device('acme', 'tok-disabled');
      assert.equal((await requestToken(disabled.files, form({ grant_type: 'client_credentials', audience: API }))).status, 200);
      assert.equal((await api.call('PATCH', `/v1/projects/acme/devices/${await deviceIdOf('acme', 'tok-disabled')}`, { json: { enabled: false } })).status, 200);
      const refusedDisabled = await requestToken(disabled.files, form({ grant_type: 'client_credentials', audience: API }));
      assert.equal(refusedDisabled.status, 403);
      assert.deepEqual([refusedDisabled.body['error'], refusedDisabled.body['code'], refusedDisabled.body['access_token']], ['invalid_client', 'DEVICE_DISABLED', undefined]);

      const revoked = device('acme', 'tok-revoked');
      assert.equal((await requestToken(revoked.files, form({ grant_type: 'client_credentials', audience: API }))).status, 200);
      const fingerprint = createHash('sha256').update(revoked.cert.der).digest('hex');
      // The inventory learns the certificate from the journal's next write.
      await eventually(async () => (await api.call('GET', `/v1/projects/acme/device-certificates/${fingerprint}`)).status, (status) => status === 200);
      const revocation = await api.call('POST', '/v1/projects/acme/revocations', { json: { certificates: [{ fingerprintSha256: fingerprint }], reason: 'keyCompromise' } });
      assert.equal(revocation.status, 200, revocation.text);
      const refusedRevoked = await requestToken(revoked.files, form({ grant_type: 'client_credentials', audience: API }));
      assert.equal(refusedRevoked.status, 403);
      assert.deepEqual([refusedRevoked.body['error'], refusedRevoked.body['code'], refusedRevoked.body['access_token']], ['invalid_client', 'CERT_REVOKED', undefined]);
      // Refused by the identity service, so journaled as every refusal is.
      await eventually(
        async () => (await api.call('GET', `/v1/projects/acme/audit?action=device.authentication-failed&targetId=${fingerprint}`)).body['list'] as { details: { code: string } }[],
        (list) => list.some((e) => e.details.code === 'CERT_REVOKED'),
      );
    });

    it('over CoAP: a certificate device gets a token, a pre-shared-key device NO_CLIENT_CERTIFICATE, a bad audience its code', async () => {
      const { cert, files } = device('acme', 'tok-coap');
      const coap = async (credentials: string[], body: unknown) => {
        const output = await runTool('coap-client-openssl', ['-m', 'post', '-B', '8', '-t', '50', '-e', JSON.stringify(body), ...credentials, `${api.server.coapUrl}/v1/token`], { timeoutMs: 15_000 });
        const text = `${output.stdout}${output.stderr}`;
        const failed = /(\d\.\d\d)\s*(\{.*\})\s*$/s.exec(text);
        const payload = failed ? failed[2] : /\{.*\}/s.exec(output.stdout)?.[0];
        return { code: failed ? (failed[1] as string) : '2.05', body: payload ? (JSON.parse(payload) as Record<string, string>) : {}, text };
      };
      const withCert = ['-c', files.cert, '-j', files.key, '-C', serverCaFile];
      const issued = await coap(withCert, { grant_type: 'client_credentials', audience: API });
      assert.equal(issued.code, '2.05', issued.text);
      assert.equal(issued.body['token_type'], 'Bearer');
      const [verified] = await verify(API, [{ token: issued.body['access_token'] as string, cert }]);
      assert.ok(verified?.ok && verified.boundToCertificate && verified.payload['fleetpki:certificate_id'] === 'tok-coap', JSON.stringify(verified));

      const badAudience = await coap(withCert, { grant_type: 'client_credentials', audience: 'https://evil.example' });
      assert.equal(badAudience.code, '4.00', badAudience.text);
      assert.deepEqual([badAudience.body['error'], badAudience.body['code']], ['invalid_target', 'TOKEN_AUDIENCE_NOT_ALLOWED']);

      const made = await api.call('POST', '/v1/projects/acme/devices', { json: { name: 'tok-psk' } });
      assert.equal(made.status, 201, made.text);
      assert.equal((await api.call('POST', `/v1/projects/acme/devices/${made.body['id']}/credentials`, { json: { type: 'PRE_SHARED_KEY', identity: 'tok-psk@acme', preSharedKey: PSK } })).status, 201);
      const psk = await coap(['-u', 'tok-psk@acme', '-k', PSK], { grant_type: 'client_credentials', audience: API });
      assert.equal(psk.code, '4.01', psk.text);
      assert.deepEqual([psk.body['error'], psk.body['code']], ['invalid_client', 'NO_CLIENT_CERTIFICATE']);

      const exposition = (await api.call('GET', '/metrics')).text;
      assert.match(exposition, /^fleetpki_device_tokens_issued_total\{transport="coap"\} 1$/m);
      assert.match(exposition, /^fleetpki_device_tokens_issued_total\{transport="https"\} \d+$/m);
    });

    it('the JWKS and provider configuration are public, on the management API and the gateway', async () => {
      const jwks = await api.call('GET', '/.well-known/jwks.json', { key: null });
      assert.equal(jwks.status, 200);
      const keys = jwks.body['keys'] as Record<string, string>[];
      assert.ok(keys.length >= 1);
      for (const key of keys) assert.deepEqual([key['kty'], key['crv'], key['alg'], key['use'], 'd' in key], ['EC', 'P-256', 'ES256', 'sig', false]);
      const onGateway = await curl(['--cacert', serverCaFile, `https://localhost:${port}/.well-known/jwks.json`]);
      assert.equal(onGateway.status, 200);
      assert.deepEqual(JSON.parse(onGateway.body.toString('utf8')), jwks.body);
      const configuration = await api.call('GET', '/.well-known/openid-configuration', { key: null });
      assert.equal(configuration.status, 200);
      assert.deepEqual(configuration.body, {
        issuer: api.server.httpUrl,
        jwks_uri: `${api.server.httpUrl}/.well-known/jwks.json`,
        token_endpoint: `${api.server.gatewayUrl}/v1/token`,
        token_endpoint_auth_methods_supported: ['tls_client_auth'],
        tls_client_certificate_bound_access_tokens: true,
        grant_types_supported: ['client_credentials'],
        id_token_signing_alg_values_supported: ['ES256'],
      });
    });

    it('the signing keys are the admin key’s: listed and rotated with it only', async () => {
      assert.equal((await api.call('GET', '/v1/token-keys', { key: null })).body['code'], 'API_KEY_MISSING');
      const projectKey = (await api.call('POST', '/v1/projects/acme/api-keys', { json: { name: 'ci' } })).body['key'] as string;
      const asProject = await api.call('POST', '/v1/token-keys', { key: projectKey });
      assert.deepEqual([asProject.status, asProject.body['code']], [403, 'ADMIN_KEY_REQUIRED']);
      const sealed = await api.server.store.db.selectFrom('token_signing_keys').select(['private_key_sealed']).execute();
      for (const row of sealed) assert.doesNotMatch(row.private_key_sealed, /PRIVATE KEY/);
    });

    it('after a rotation old tokens verify until they expire, new ones carry the new key, and the old key retires', async () => {
      const { cert, files } = device('acme', 'tok-rotate');
      const get = async () => {
        const answer = await requestToken(files, form({ grant_type: 'client_credentials', audience: API }));
        assert.equal(answer.status, 200, JSON.stringify(answer.body));
        return { token: answer.body['access_token'] as string, cert };
      };
      const kidOf = (token: string) => (JSON.parse(Buffer.from(token.split('.')[0] as string, 'base64url').toString('utf8')) as { kid: string }).kid;
      const old = await get();
      const oldKid = kidOf(old.token);

      const rotated = await api.call('POST', '/v1/token-keys');
      assert.equal(rotated.status, 201, rotated.text);
      const newKid = rotated.body['kid'] as string;
      assert.notEqual(newKid, oldKid);
      assert.equal(rotated.body['state'], 'pending');
      assert.equal(Date.parse(rotated.body['activatesAt']) - Date.parse(rotated.body['createdAt']), PUBLISH_LEAD_SECONDS * 1000);
      // Published before it signs; the old key signs until then.
      const published = ((await api.call('GET', '/.well-known/jwks.json', { key: null })).body['keys'] as { kid: string }[]).map((k) => k.kid);
      assert.ok(published.includes(newKid) && published.includes(oldKid), JSON.stringify(published));
      assert.equal(kidOf((await get()).token), oldKid);
      const listed = (await api.call('GET', '/v1/token-keys')).body['list'] as { kid: string; state: string; supersededAt: string | null; retiresAt: string | null }[];
      assert.deepEqual(listed.map((k) => [k.kid, k.state]).slice(0, 2), [[newKid, 'pending'], [oldKid, 'active']]);
      assert.equal(listed[1]?.supersededAt, rotated.body['activatesAt']);

      offsetMs += (PUBLISH_LEAD_SECONDS + 1) * 1000;
      const fresh = await get();
      assert.equal(kidOf(fresh.token), newKid);
      const both = await verify(API, [old, fresh]);
      assert.deepEqual(both.map((r) => [r.ok, r.kid]), [[true, oldKid], [true, newKid]]);

      // Past the old token's expiry it no longer verifies, though its key is still published (tokens of up to a day may be out).
      offsetMs += LIFETIME * 1000;
      const expired = await verify(API, [old]);
      assert.deepEqual(expired.map((r) => [r.ok, !r.ok && r.error]), [[false, 'ERR_JWT_EXPIRED']]);
      assert.ok(((await api.call('GET', '/.well-known/jwks.json', { key: null })).body['keys'] as { kid: string }[]).some((k) => k.kid === oldKid));

      // Past its retirement it leaves the JWKS, and the rotation pass deletes it.
      offsetMs += 25 * 3600 * 1000;
      const remaining = ((await api.call('GET', '/.well-known/jwks.json', { key: null })).body['keys'] as { kid: string }[]).map((k) => k.kid);
      assert.ok(!remaining.includes(oldKid) && remaining.includes(newKid), JSON.stringify(remaining));
      const pass = await api.server.tokenKeyRotation.tick();
      assert.equal(pass.leased, true);
      assert.ok(pass.swept >= 1);
      assert.equal(pass.rotated, undefined);
      assert.ok(!((await api.call('GET', '/v1/token-keys')).body['list'] as { kid: string }[]).some((k) => k.kid === oldKid));

      // Thirty days after the newest key was made, the pass rotates on its own.
      offsetMs += 30 * 24 * 3600 * 1000;
      const due = await api.server.tokenKeyRotation.tick();
      assert.ok(due.rotated !== undefined && due.rotated !== newKid);
      const audit = (await api.call('GET', '/v1/audit?action=token-key.rotate')).body['list'] as { actor: string; targetId: string }[];
      assert.ok(audit.some((e) => e.actor === 'scheduler' && e.targetId === due.rotated), JSON.stringify(audit));
    });
  });
}
