import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { csrFor, makeDevice, makeRoot, type Issued } from '@fleetpki/test-support';
import { gatewayOf, startTestApi, type TestApi } from './helpers/api.js';
import { base64 } from './helpers/base64.js';
import { curlIdentity, writeDeviceFiles } from './helpers/device-clients.js';
import { eventually } from './helpers/eventually.js';
import { mosquitto } from './helpers/mqtt-clients.js';
import { DIALECTS } from './helpers/stores.js';
import type { GatewayUnderTest } from './helpers/transport.js';
import { WebhookReceiver, type ReceivedEvent } from './helpers/webhook-receiver.js';

const ALL_EVENTS = [
  'device.created',
  'device.associated',
  'device.authentication-failed',
  'device.updated',
  'device.disabled',
  'device.enabled',
  'device.deleted',
  'certificate.issued',
  'certificate.revoked',
  'ca.uploaded',
  'ca.disabled',
  'ca.enabled',
  'ca.created',
];

for (const dialect of DIALECTS) {
  describe(`webhooks deliver real device activity, signed as Standard Webhooks says [${dialect}]`, () => {
    let api: TestApi;
    let gateway: GatewayUnderTest;
    let root: Issued;
    let rootId: string;
    let webhookId: string;
    const receiver = new WebhookReceiver();
    /** The first verified event matching, waited for. */
    const received = async (match: (e: ReceivedEvent) => boolean, what: string): Promise<ReceivedEvent> => {
      const found = await eventually(
        () => Promise.resolve(receiver.unique().find(match)),
        (e) => e !== undefined,
        10_000,
      );
      assert.ok(found, `${what} arrived (got ${receiver.unique().map((e) => e.type).join(', ')}; unverified: ${receiver.unverified.join('; ')})`);
      return found;
    };

    before(async () => {
      await receiver.start();
      api = await startTestApi(dialect, { serve: { allowPrivateWebhooks: true } });
      assert.equal((await api.call('POST', '/v1/projects', { json: { name: 'Acme', slug: 'acme' } })).status, 201);
      gateway = await gatewayOf(api);
      const created = await api.call('POST', '/v1/projects/acme/webhooks', { json: { url: receiver.url, events: ALL_EVENTS } });
      assert.equal(created.status, 201, created.text);
      assert.match(created.body['secret'], /^whsec_[A-Za-z0-9+/]+={0,2}$/);
      assert.equal(Buffer.from(created.body['secret'].slice(6), 'base64').length, 32);
      webhookId = created.body['id'];
      receiver.useSecret(created.body['secret']);
      root = makeRoot('/CN=Webhook Root');
      const upload = await api.call('POST', '/v1/projects/acme/certificates', { json: { certFile: base64(root.pem) } });
      assert.equal(upload.status, 201);
      rootId = upload.body['id'];
    });
    after(async () => {
      await api.close();
      await receiver.stop();
    });

    it('shows the endpoint without its secret, and audits its creation', async () => {
      const listed = await api.call('GET', '/v1/projects/acme/webhooks');
      assert.equal(listed.status, 200);
      assert.deepEqual(Object.keys(listed.body['list'][0]).sort(), ['createdAt', 'events', 'id', 'url']);
      const one = await api.call('GET', `/v1/projects/acme/webhooks/${webhookId}`);
      assert.equal(one.body['url'], receiver.url);
      assert.equal(one.body['secret'], undefined);
      const audit = await api.call('GET', '/v1/projects/acme/audit?action=webhook.create');
      assert.equal(audit.body['list'][0].targetId, webhookId);
      assert.ok(!JSON.stringify(audit.body).includes('whsec_'), 'the secret is not in the audit log');
    });

    it('ca.uploaded for the CA uploaded after the endpoint, with the headers the specification names', async () => {
      const e = await received((x) => x.type === 'ca.uploaded' && x.data['caId'] === rootId, 'ca.uploaded');
      assert.equal(e.data['projectId'], 'acme');
      assert.equal(e.data['certType'], 'root');
      assert.match(e.id, /^msg_/);
      assert.match(String(e.headers['webhook-timestamp']), /^\d{10}$/);
      assert.match(String(e.headers['webhook-signature']), /^v1,[A-Za-z0-9+/]+=*$/);
      assert.equal(e.headers['content-type'], 'application/json');
      assert.match(String(e.headers['user-agent']), /fleetpki/);
    });

    it('device.created for a device created through the API; device.disabled and device.deleted follow in order', async () => {
      const device = await api.call('POST', '/v1/projects/acme/devices', { json: { name: 'api-made' } });
      assert.equal(device.status, 201);
      const id = device.body['id'];
      assert.equal((await api.call('PATCH', `/v1/projects/acme/devices/${id}`, { json: { enabled: false } })).status, 200);
      assert.equal((await api.call('DELETE', `/v1/projects/acme/devices/${id}`)).status, 204);
      await received((x) => x.type === 'device.deleted' && x.data['deviceId'] === id, 'device.deleted');
      const mine = receiver.unique().filter((x) => x.data['deviceId'] === id);
      assert.deepEqual(
        mine.map((x) => x.type),
        ['device.created', 'device.disabled', 'device.deleted'],
      );
      assert.equal(mine[0]!.data['name'], 'api-made');
    });

    it('device.created when a device authenticates with curl over mTLS for the first time (zero-touch)', async () => {
      const cert = makeDevice(root, '/O=acme/CN=curl-new');
      const answer = await curlIdentity(gateway.urls.gatewayUrl, gateway.serverCaFile, writeDeviceFiles(api.store.dataDir, 'curl-new', cert.pem, cert.keyPem));
      assert.equal(answer.status, 200);
      const e = await received((x) => x.type === 'device.created' && x.data['certificateId'] === 'curl-new', 'device.created (zero-touch)');
      assert.equal(e.data['deviceId'], answer.body['deviceId']);
      assert.equal(e.data['provisioning'], 'created');
      assert.equal(e.data['transport'], 'https');
      // Authenticating again is no event.
      assert.equal((await curlIdentity(gateway.urls.gatewayUrl, gateway.serverCaFile, writeDeviceFiles(api.store.dataDir, 'curl-new', cert.pem, cert.keyPem))).status, 200);
    });

    it('device.associated when a device created by name first connects with its certificate', async () => {
      const device = await api.call('POST', '/v1/projects/acme/devices', { json: { name: 'curl-named' } });
      const cert = makeDevice(root, '/O=acme/CN=curl-named');
      assert.equal((await curlIdentity(gateway.urls.gatewayUrl, gateway.serverCaFile, writeDeviceFiles(api.store.dataDir, 'curl-named', cert.pem, cert.keyPem))).status, 200);
      const e = await received((x) => x.type === 'device.associated' && x.data['deviceId'] === device.body['id'], 'device.associated');
      assert.equal(e.data['certificateId'], 'curl-named');
    });

    it('device.authentication-failed with its code when curl presents a certificate of an unknown CA', async () => {
      const stranger = makeRoot('/CN=Stranger Root');
      const cert = makeDevice(stranger, '/O=acme/CN=curl-stranger');
      const answer = await curlIdentity(gateway.urls.gatewayUrl, gateway.serverCaFile, writeDeviceFiles(api.store.dataDir, 'curl-stranger', cert.pem, cert.keyPem));
      assert.notEqual(answer.status, 200);
      const e = await received((x) => x.type === 'device.authentication-failed' && String(x.data['subject']).includes('curl-stranger'), 'device.authentication-failed');
      assert.equal(e.data['code'], 'UNKNOWN_ISSUER');
      assert.equal(e.data['transport'], 'https');
      assert.match(String(e.data['fingerprintSha256']), /^[0-9a-f]{64}$/);
    });

    it('device.created for a device that first connects with mosquitto_pub over MQTT', async () => {
      const cert = makeDevice(root, '/O=acme/CN=mqtt-new');
      const files = writeDeviceFiles(api.store.dataDir, 'mqtt-new', cert.pem, cert.keyPem);
      const pub = await mosquitto('mosquitto_pub', gateway.urls.mqttUrl, gateway.serverCaFile, files, ['-i', 'mqtt-new', '-t', 'acme/mqtt-new/state', '-m', 'on', '-q', '1']);
      assert.equal(pub.exit, 0, pub.output);
      const e = await received((x) => x.type === 'device.created' && x.data['certificateId'] === 'mqtt-new', 'device.created over MQTT');
      assert.equal(e.data['transport'], 'mqtt');
    });

    it('certificate.revoked names the device whose certificate was revoked', async () => {
      const cert = makeDevice(root, '/O=acme/CN=to-revoke');
      const identity = await curlIdentity(gateway.urls.gatewayUrl, gateway.serverCaFile, writeDeviceFiles(api.store.dataDir, 'to-revoke', cert.pem, cert.keyPem));
      assert.equal(identity.status, 200);
      const fingerprint = identity.body['certificate']['fingerprintSha256'];
      // The inventory row comes with the journal's next write.
      await eventually(
        () => api.call('GET', `/v1/projects/acme/device-certificates/${fingerprint}`),
        (r) => r.status === 200,
      );
      const r = await api.call('POST', '/v1/projects/acme/revocations', { json: { certificates: [{ fingerprintSha256: fingerprint }], reason: 'keyCompromise' } });
      assert.ok(r.status === 200 || r.status === 201, r.text);
      const e = await received((x) => x.type === 'certificate.revoked' && x.data['fingerprintSha256'] === fingerprint, 'certificate.revoked');
      assert.equal(e.data['reason'], 'keyCompromise');
      assert.equal(e.data['deviceId'], identity.body['deviceId']);
    });

    it('ca.created and certificate.issued for the integrated PKI', async () => {
      const ca = await api.call('POST', '/v1/projects/acme/pki/cas', { json: { mode: 'generate' } });
      assert.equal(ca.status, 201, ca.text);
      await received((x) => x.type === 'ca.created' && x.data['managedCaId'] === ca.body['id'], 'ca.created');
      const csr = csrFor('/O=acme/CN=issued-one');
      const issued = await api.call('POST', '/v1/projects/acme/pki/issue', { json: { csr: base64(csr.der) } });
      assert.equal(issued.status, 201, issued.text);
      const e = await received((x) => x.type === 'certificate.issued' && x.data['certificateId'] === 'issued-one', 'certificate.issued');
      assert.match(String(e.data['fingerprintSha256']), /^[0-9a-f]{64}$/);
      assert.equal(e.data['caId'], ca.body['id']);
    });

    it('ca.disabled when the CA is switched off', async () => {
      assert.equal((await api.call('PATCH', `/v1/projects/acme/certificates/${rootId}`, { json: { enabled: false } })).status, 200);
      await received((x) => x.type === 'ca.disabled' && x.data['caId'] === rootId, 'ca.disabled');
    });

    it('a test event goes to this endpoint; its delivery lists the attempt and the answer', async () => {
      const sent = await api.call('POST', `/v1/projects/acme/webhooks/${webhookId}/test`);
      assert.equal(sent.status, 202);
      assert.equal(sent.body['type'], 'webhook.test');
      const e = await received((x) => x.id === sent.body['messageId'], 'webhook.test');
      assert.equal(e.type, 'webhook.test');
      const deliveries = await eventually(
        () => api.call('GET', `/v1/projects/acme/webhooks/${webhookId}/deliveries?perPage=1`),
        (r) => r.body['list']?.[0]?.status === 'delivered',
      );
      const [delivery] = deliveries.body['list'];
      assert.equal(delivery.messageId, sent.body['messageId']);
      assert.equal(delivery.type, 'webhook.test');
      assert.equal(delivery.attemptCount, 1);
      assert.equal(delivery.attempts[0].statusCode, 204);
      assert.equal(delivery.attempts[0].errorCode, null);
      assert.equal(typeof delivery.attempts[0].durationMs, 'number');
      assert.equal(delivery.payload.type, 'webhook.test');
      assert.equal(typeof deliveries.body['nextCursor'], 'string');
      const next = await api.call('GET', `/v1/projects/acme/webhooks/${webhookId}/deliveries?perPage=1&cursor=${deliveries.body['nextCursor']}`);
      assert.equal(next.status, 200);
      assert.notEqual(next.body['list'][0].id, delivery.id);
    });

    it('every delivery verified with the standardwebhooks library; none carries a secret', () => {
      assert.deepEqual(receiver.unverified, []);
      assert.ok(!receiver.events.some((e) => JSON.stringify(e.data).includes('whsec_')));
    });

    it('a project key reaches its own webhooks; deleting the endpoint is audited and stops deliveries', async () => {
      const key = await api.call('POST', '/v1/projects/acme/api-keys', { json: { name: 'hooks' } });
      assert.equal(key.status, 201, key.text);
      assert.equal((await api.call('GET', '/v1/projects/acme/webhooks', { key: key.body['key'] })).status, 200);
      assert.equal((await api.call('DELETE', `/v1/projects/acme/webhooks/${webhookId}`, { key: key.body['key'] })).status, 204);
      assert.equal((await api.call('GET', `/v1/projects/acme/webhooks/${webhookId}`)).body['code'], 'WEBHOOK_NOT_FOUND');
      const audit = await api.call('GET', '/v1/projects/acme/audit?action=webhook.delete');
      assert.equal(audit.body['list'][0].targetId, webhookId);
    });

    it('at most 20 endpoints a project (WEBHOOK_LIMIT_REACHED)', async () => {
      for (let i = 0; i < 20; i++) assert.equal((await api.call('POST', '/v1/projects/acme/webhooks', { json: { url: `${receiver.url}?n=${i}`, events: ['device.created'] } })).status, 201);
      const over = await api.call('POST', '/v1/projects/acme/webhooks', { json: { url: receiver.url, events: ['device.created'] } });
      assert.equal(over.status, 409);
      assert.equal(over.body['code'], 'WEBHOOK_LIMIT_REACHED');
      assert.equal(over.body['max'], 20);
    });
  });

  describe(`webhook creation refuses bad input with its code, and stores nothing [${dialect}]`, () => {
    let api: TestApi;
    before(async () => {
      api = await startTestApi(dialect);
      assert.equal((await api.call('POST', '/v1/projects', { json: { name: 'Beta', slug: 'beta' } })).status, 201);
    });
    after(() => api.close());

    const good = { url: 'https://hooks.example.com/fleetpki', events: ['device.created'] };
    const cases: { name: string; body: Record<string, unknown>; status: number; code: string; facts?: Record<string, unknown> }[] = [
      { name: 'a URL that is not http(s)', body: { ...good, url: 'ftp://hooks.example.com/x' }, status: 400, code: 'WEBHOOK_URL_INVALID' },
      { name: 'a URL that is not a URL', body: { ...good, url: 'not a url' }, status: 400, code: 'WEBHOOK_URL_INVALID' },
      { name: 'a URL with credentials', body: { ...good, url: 'https://user:pw@hooks.example.com/x' }, status: 400, code: 'WEBHOOK_URL_INVALID' },
      { name: 'an oversize URL', body: { ...good, url: `https://hooks.example.com/${'a'.repeat(2100)}` }, status: 400, code: 'WEBHOOK_URL_INVALID' },
      { name: 'a loopback address, without --allow-private-webhooks', body: { ...good, url: 'http://127.0.0.1:9/hooks' }, status: 422, code: 'WEBHOOK_URL_REFUSED' },
      { name: 'a private address', body: { ...good, url: 'http://10.1.2.3/hooks' }, status: 422, code: 'WEBHOOK_URL_REFUSED' },
      { name: 'a link-local address (cloud metadata)', body: { ...good, url: 'http://169.254.169.254/latest' }, status: 422, code: 'WEBHOOK_URL_REFUSED' },
      { name: 'an IPv4-mapped IPv6 loopback', body: { ...good, url: 'http://[::ffff:127.0.0.1]/hooks' }, status: 422, code: 'WEBHOOK_URL_REFUSED' },
      { name: 'localhost by name', body: { ...good, url: 'http://localhost:8080/hooks' }, status: 422, code: 'WEBHOOK_URL_REFUSED' },
      { name: 'an unknown event name', body: { ...good, events: ['device.created', 'device.exploded'] }, status: 400, code: 'WEBHOOK_EVENT_UNKNOWN', facts: { event: 'device.exploded' } },
      { name: 'the test event (not subscribable)', body: { ...good, events: ['webhook.test'] }, status: 400, code: 'WEBHOOK_EVENT_UNKNOWN' },
      { name: 'no events', body: { ...good, events: [] }, status: 400, code: 'VALIDATION_FAILED' },
      { name: 'a secret without whsec_', body: { ...good, secret: Buffer.alloc(32, 1).toString('base64') }, status: 400, code: 'WEBHOOK_SECRET_INVALID' },
      { name: 'a secret of 16 bytes', body: { ...good, secret: `whsec_${Buffer.alloc(16, 1).toString('base64')}` }, status: 400, code: 'WEBHOOK_SECRET_INVALID' },
      { name: 'a secret that is not base64', body: { ...good, secret: 'whsec_!!!!not-base64!!!!!!!!!!!!!!!!!!!!' }, status: 400, code: 'WEBHOOK_SECRET_INVALID' },
      { name: 'an unknown field', body: { ...good, retries: 3 }, status: 400, code: 'VALIDATION_FAILED' },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const r = await api.call('POST', '/v1/projects/beta/webhooks', { json: c.body });
        assert.equal(r.status, c.status, r.text);
        assert.equal(r.body['code'], c.code);
        for (const [fact, value] of Object.entries(c.facts ?? {})) assert.deepEqual(r.body[fact], value);
      });
    }

    it('stored nothing and audited nothing', async () => {
      assert.equal((await api.call('GET', '/v1/projects/beta/webhooks')).body['total'], 0);
      assert.equal((await api.call('GET', '/v1/projects/beta/audit?action=webhook.create')).body['total'], 0);
    });

    it('a given secret in the right format is accepted and answered back once', async () => {
      const secret = `whsec_${Buffer.alloc(24, 7).toString('base64')}`;
      const r = await api.call('POST', '/v1/projects/beta/webhooks', { json: { ...good, url: 'https://93.184.215.14/hooks', secret } });
      assert.equal(r.status, 201, r.text);
      assert.equal(r.body['secret'], secret);
    });

    it('an attempt whose target now resolves to loopback is refused (WEBHOOK_URL_REFUSED) and nothing reaches it', async () => {
      const receiver = new WebhookReceiver();
      await receiver.start();
      try {
        const r = await api.call('POST', '/v1/projects/beta/webhooks', { json: { url: 'http://93.184.215.14/rebound', events: ['device.created'] } });
        assert.equal(r.status, 201, r.text);
        receiver.useSecret(r.body['secret']);
        // As if its name resolved elsewhere since it was checked (DNS rebinding): the URL in the store now points at loopback.
        await api.server.store.db.updateTable('webhooks').set({ url: receiver.url }).where('id', '=', r.body['id']).execute();
        assert.equal((await api.call('POST', '/v1/projects/beta/devices', { json: { name: 'rebound' } })).status, 201);
        const deliveries = await eventually(
          () => api.call('GET', `/v1/projects/beta/webhooks/${r.body['id']}/deliveries`),
          (d) => d.body['list']?.[0]?.attemptCount >= 1,
        );
        const [delivery] = deliveries.body['list'];
        assert.equal(delivery.status, 'pending');
        assert.equal(delivery.attempts[0].errorCode, 'WEBHOOK_URL_REFUSED');
        assert.equal(delivery.attempts[0].statusCode, null);
        assert.equal(receiver.requests, 0);
      } finally {
        await receiver.stop();
      }
    });

    it('unknown endpoints answer WEBHOOK_NOT_FOUND; another project key is refused', async () => {
      assert.equal((await api.call('GET', '/v1/projects/beta/webhooks/nope/deliveries')).body['code'], 'WEBHOOK_NOT_FOUND');
      assert.equal((await api.call('POST', '/v1/projects/beta/webhooks/nope/test')).status, 404);
      assert.equal((await api.call('POST', '/v1/projects', { json: { name: 'Other', slug: 'other' } })).status, 201);
      const other = await api.call('POST', '/v1/projects/other/api-keys', { json: { name: 'k' } });
      const r = await api.call('GET', '/v1/projects/beta/webhooks', { key: other.body['key'] });
      assert.equal(r.body['code'], 'PROJECT_ACCESS_DENIED');
    });
  });
}
