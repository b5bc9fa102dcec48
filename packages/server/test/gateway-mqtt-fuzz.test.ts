import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { makeDevice, makeRoot } from '@fleetpki/test-support';
import type { Logger } from '../src/logger.js';
import { startTestApi, type TestApi } from './helpers/api.js';
import { base64 } from './helpers/base64.js';
import { runTool } from './helpers/coap-clients.js';
import { writeDeviceFiles } from './helpers/device-clients.js';
import { rawMqttSession } from './helpers/mqtt-clients.js';

/**
 * Bounded fuzzing of MQTT packets after CONNECT (CI): mutated PUBLISH, SUBSCRIBE, UNSUBSCRIBE,
 * PINGREQ and DISCONNECT packets on authenticated TLS sessions, from a client process of its own
 * (helpers/mqtt-fuzz-client.ts). Longer runs: FLEETPKI_MQTT_FUZZ_ITERATIONS=1000000
 * FLEETPKI_MQTT_FUZZ_SECONDS=600 (FLEETPKI_MQTT_FUZZ_SEED replays one).
 */
const ITERATIONS = Number(process.env['FLEETPKI_MQTT_FUZZ_ITERATIONS'] ?? 5_000);
const MAX_MS = Number(process.env['FLEETPKI_MQTT_FUZZ_SECONDS'] ?? 8) * 1000;
const SEED = Number(process.env['FLEETPKI_MQTT_FUZZ_SEED'] ?? Date.now() % 2 ** 31);
/** The server's growth over a run, after a warm-up run: the broker's tables are bounded. */
const RSS_LIMIT = 16 * 1024 * 1024;
const FUZZER = fileURLToPath(new URL('./helpers/mqtt-fuzz-client.js', import.meta.url));
const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/** A full collection, so RSS says what is held rather than garbage not yet collected. */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

describe('MQTT after CONNECT: bounded fuzzing', () => {
  let api: TestApi;
  let ca: string;
  const errors: string[] = [];
  const logger: Logger = { log: (level, msg, fields) => void (level === 'error' && errors.push(`${msg} ${JSON.stringify(fields ?? {})}`)) };
  const root = makeRoot('/CN=MQTT Fuzz Root');
  const device = makeDevice(root, '/O=acme/CN=fuzz-1');

  before(async () => {
    api = await startTestApi('sqlite', { serve: { logger } });
    assert.equal((await api.call('POST', '/v1/projects', { json: { name: 'acme', slug: 'acme' } })).status, 201);
    assert.equal((await api.call('POST', '/v1/projects/acme/certificates', { json: { certFile: base64(root.pem) } })).status, 201);
    ca = (await api.call('GET', '/v1/server-ca', { key: null })).text;
  });
  after(() => api.close());

  it(`up to ${ITERATIONS} mutated packets (or ${MAX_MS / 1000} s): no error logged, memory bounded, the device connects after`, async (t) => {
    t.diagnostic(`seed ${SEED}`);
    const dir = api.store.dataDir;
    writeFileSync(join(dir, 'fuzz-ca.pem'), ca);
    const files = writeDeviceFiles(dir, 'fuzz-1', device.pem, device.keyPem);
    const port = new URL(api.server.mqttUrl.replace('mqtts:', 'https:')).port;
    const fuzz = async (seed: number) => {
      const run = await runTool(process.execPath, [FUZZER, port, join(dir, 'fuzz-ca.pem'), files.cert, files.key, String(ITERATIONS), String(MAX_MS), String(seed)], { timeoutMs: MAX_MS + 20_000 });
      assert.equal(run.exitCode, 0, run.stderr);
      return JSON.parse(run.stdout) as { sent: number; sessions: number; ms: number };
    };
    // Warm-up with another seed: the first run grows V8's heap and code to what a busy broker has.
    await fuzz(SEED + 1);
    collectGarbage();
    const before = process.memoryUsage();
    const result = await fuzz(SEED);
    await new Promise((resolve) => setTimeout(resolve, 300));
    collectGarbage();
    const after = process.memoryUsage();
    t.diagnostic(`${result.sent} packets over ${result.sessions} sessions in ${result.ms} ms; server RSS ${mib(after.rss - before.rss)}, heap used ${mib(after.heapUsed - before.heapUsed)}, external ${mib(after.external - before.external)}`);
    assert.deepEqual(errors, [], `seed ${SEED}`);
    const session = await rawMqttSession(api.server.mqttUrl, ca, device.pem, device.keyPem, 'fuzz-1');
    assert.equal(session.returnCode, 0, `seed ${SEED}`);
    session.socket.destroy();
    assert.equal((await api.call('GET', '/v1/server-ca', { key: null })).status, 200);
    assert.ok(result.sent >= 1_000, `the fuzzer sent ${result.sent}`);
    assert.ok(after.rss - before.rss < RSS_LIMIT, `RSS grew by ${mib(after.rss - before.rss)} (seed ${SEED})`);
  });
});
