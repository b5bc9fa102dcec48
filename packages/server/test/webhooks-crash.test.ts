import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ADMIN_KEY_FILE } from '@fleetpki/server';
import { apiRequest } from './helpers/api.js';
import { eventually } from './helpers/eventually.js';
import { spawnServe, type ServeProcess } from './helpers/serve-process.js';
import { createTestStore, DIALECTS, type TestStore } from './helpers/stores.js';
import { WebhookReceiver } from './helpers/webhook-receiver.js';

const EVENTS = 1000;
const CONCURRENCY = 16;
const KILL_AFTER_ACKS = 400;

for (const dialect of DIALECTS) {
  describe(`a SIGKILL in the middle of 1,000 events loses no delivery [${dialect}]`, () => {
    let store: TestStore;
    let server: ServeProcess | undefined;
    const receiver = new WebhookReceiver();
    after(async () => {
      await server?.stop('SIGKILL');
      await receiver.stop();
      await store?.cleanup();
    });

    it('delivers every acknowledged device creation at least once after the restart', { timeout: 180_000 }, async () => {
      await receiver.start();
      store = await createTestStore(dialect);
      const args = ['--data-dir', store.dataDir, '--allow-private-webhooks', ...(store.database ? ['--database', store.database] : [])];
      server = await spawnServe(args);
      const key = readFileSync(join(store.dataDir, ADMIN_KEY_FILE), 'utf8').trim();
      assert.equal((await apiRequest('POST', `${server.url}/v1/projects`, key, { json: { name: 'Crash', slug: 'crash' } })).status, 201);
      const hook = await apiRequest('POST', `${server.url}/v1/projects/crash/webhooks`, key, { json: { url: receiver.url, events: ['device.created'] } });
      assert.equal(hook.status, 201, hook.text);
      receiver.useSecret(hook.body['secret']);

      const acked = new Set<string>();
      let failures = 0;
      let next = 0;
      const burst = async (target: ServeProcess, prefix: string, count: number, killAt: number | undefined) => {
        const worker = async (): Promise<void> => {
          while (next < count) {
            const i = next++;
            try {
              const r = await apiRequest('POST', `${target.url}/v1/projects/crash/devices`, key, { json: { name: `${prefix}-${i}` } });
              if (r.status === 201) acked.add(r.body['id']);
            } catch {
              failures++; // the connection died with the server: not acknowledged
            }
            if (killAt !== undefined && acked.size >= killAt && target.child.exitCode === null) target.child.kill('SIGKILL');
          }
        };
        await Promise.all(Array.from({ length: CONCURRENCY }, worker));
      };
      await burst(server, 'before', EVENTS, KILL_AFTER_ACKS);
      const exit = await server.stop('SIGKILL');
      assert.equal(exit.signal, 'SIGKILL');
      assert.ok(failures > 0 && acked.size < EVENTS, `the kill landed mid-burst (${acked.size} acknowledged)`);
      const beforeRestart = receiver.unique().length;
      assert.ok(beforeRestart < EVENTS);

      server = await spawnServe(args);
      // The rest of the 1,000, against the restarted server.
      next = 0;
      const missing = EVENTS - acked.size;
      await burst(server, 'after', missing, undefined);
      // The restarted server takes the delivery lease once the killed one's lapses (10 s).
      const ids = await eventually(
        () => Promise.resolve(new Set(receiver.ofType('device.created').map((e) => String(e.data['deviceId'])))),
        (got) => [...acked].every((id) => got.has(id)),
        60_000,
      );
      const lost = [...acked].filter((id) => !ids.has(id));
      assert.deepEqual(lost, [], `${lost.length} of ${acked.size} acknowledged events never arrived`);
      assert.deepEqual(receiver.unverified, []);
      assert.equal(acked.size, EVENTS, 'the 1,000 events, acknowledged before and after the restart');
    });
  });
}
