import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApi, type TestApi } from './helpers/api.js';
import { eventually } from './helpers/eventually.js';
import { DIALECTS } from './helpers/stores.js';
import { WebhookReceiver } from './helpers/webhook-receiver.js';

/** The acceptance's outage: the receiver refuses connections, then answers 503, for 30 s in all. */
const DOWN_MS = 30_000;
const DEVICES = 5;

for (const dialect of DIALECTS) {
  describe(`the receiver down for 30 s, then up: every event delivered, in order per device [${dialect}]`, () => {
    let api: TestApi;
    const receiver = new WebhookReceiver();
    before(async () => {
      await receiver.start();
      // Retries capped at 2 s (default 1 h) so that the test ends soon after the receiver is back.
      api = await startTestApi(dialect, { serve: { allowPrivateWebhooks: true, webhooks: { backoffBaseMs: 250, backoffCapMs: 2000 } } });
      assert.equal((await api.call('POST', '/v1/projects', { json: { name: 'Outage', slug: 'outage' } })).status, 201);
    });
    after(async () => {
      await api.close();
      await receiver.stop();
    });

    it('retries through the outage and keeps each device’s order', { timeout: 120_000 }, async () => {
      const created = await api.call('POST', '/v1/projects/outage/webhooks', { json: { url: receiver.url, events: ['device.created', 'device.updated', 'device.disabled', 'device.enabled', 'device.deleted'] } });
      assert.equal(created.status, 201, created.text);
      receiver.useSecret(created.body['secret']);
      await receiver.setMode({ kind: 'down' });
      const started = Date.now();
      // Each device: created, renamed, disabled, enabled, renamed, deleted — spread over the outage.
      const expected = new Map<string, string[]>();
      const ids: string[] = [];
      for (let i = 0; i < DEVICES; i++) {
        const r = await api.call('POST', '/v1/projects/outage/devices', { json: { name: `out-${i}` } });
        assert.equal(r.status, 201);
        ids.push(r.body['id']);
        expected.set(r.body['id'], ['device.created']);
      }
      const steps: [string, Record<string, unknown> | null][] = [
        ['device.updated', { name: 'renamed' }],
        ['device.disabled', { enabled: false }],
        ['device.enabled', { enabled: true }],
        ['device.deleted', null],
      ];
      for (const [step, [type, body]] of steps.entries()) {
        if (step === 2) await receiver.setMode({ kind: 'status', status: 503 });
        for (const [i, id] of ids.entries()) {
          const r = body === null ? await api.call('DELETE', `/v1/projects/outage/devices/${id}`) : await api.call('PATCH', `/v1/projects/outage/devices/${id}`, { json: { ...body, ...(type === 'device.updated' ? { name: `renamed-${i}` } : {}) } });
          assert.ok(r.status === 200 || r.status === 204, r.text);
          expected.get(id)!.push(type);
        }
        await new Promise((resolve) => setTimeout(resolve, DOWN_MS / 5));
      }
      const wait = DOWN_MS - (Date.now() - started);
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      assert.equal(receiver.events.length, 0, 'nothing got through while the receiver was down');
      assert.ok(receiver.requests > 0, 'deliveries were attempted (and answered 503) during the outage');
      await receiver.setMode({ kind: 'ok' });
      const total = DEVICES * 5;
      await eventually(() => Promise.resolve(receiver.unique().length), (n) => n >= total, 20_000);
      assert.deepEqual(receiver.unverified, []);
      for (const id of ids) {
        assert.deepEqual(
          receiver.unique().filter((e) => e.data['deviceId'] === id).map((e) => e.type),
          expected.get(id),
          `device ${id} in order`,
        );
      }
      // Their deliveries show the failed attempts: refused connections, then 503s, then the success.
      const deliveries = await api.call('GET', `/v1/projects/outage/webhooks/${created.body['id']}/deliveries?perPage=500`);
      const first = deliveries.body['list'].at(-1);
      assert.equal(first.status, 'delivered');
      assert.ok(first.attemptCount > 2, `retried (${first.attemptCount} attempts)`);
      assert.equal(first.attempts[0].errorCode, 'WEBHOOK_CONNECT_FAILED');
      assert.ok(first.attempts.some((a: { statusCode: number | null; response: string | null }) => a.statusCode === 503 && a.response === 'receiver unavailable'));
      assert.equal(first.attempts.at(-1).statusCode, 204);
    });
  });
}
