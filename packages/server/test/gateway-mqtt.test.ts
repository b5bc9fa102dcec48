import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeDevice, makeRoot, type Issued } from '@fleetpki/test-support';
import { startTestApi, type TestApi } from './helpers/api.js';
import { base64 } from './helpers/base64.js';
import { writeDeviceFiles, type DeviceFiles } from './helpers/device-clients.js';
import { eventually } from './helpers/eventually.js';
import { mosquitto, rawMqttSession } from './helpers/mqtt-clients.js';
import { DIALECTS } from './helpers/stores.js';

for (const dialect of DIALECTS) {
  describe(`MQTT over TLS with mosquitto clients [${dialect}]`, () => {
    let api: TestApi;
    let serverCa: string;
    let serverCaPem: string;
    const root = makeRoot('/CN=MQTT Root');
    let sensor: Issued;
    let files: DeviceFiles;

    before(async () => {
      api = await startTestApi(dialect);
      assert.equal((await api.call('POST', '/v1/projects', { json: { name: 'Acme', slug: 'acme' } })).status, 201);
      assert.equal((await api.call('POST', '/v1/projects/acme/certificates', { json: { certFile: base64(root.pem) } })).status, 201);
      serverCaPem = (await api.call('GET', '/v1/server-ca', { key: null })).text;
      serverCa = join(api.store.dataDir, 'server-ca.pem');
      writeFileSync(serverCa, serverCaPem);
      sensor = makeDevice(root, '/O=acme/CN=sensor-7');
      files = writeDeviceFiles(api.store.dataDir, 'sensor-7', sensor.pem, sensor.keyPem);
    });
    after(() => api.close());

    it('mosquitto_pub and mosquitto_sub exchange a message under the device’s own prefix; the device is provisioned', async () => {
      const pub = await mosquitto('mosquitto_pub', api.server.mqttUrl, serverCa, files, ['-i', 'sensor-7', '-t', 'acme/sensor-7/state', '-m', 'online', '-r', '-q', '1']);
      assert.equal(pub.exit, 0, pub.output);
      const sub = await mosquitto('mosquitto_sub', api.server.mqttUrl, serverCa, files, ['-i', 'sensor-7', '-t', 'acme/sensor-7/#', '-C', '1', '-v', '-W', '5']);
      assert.equal(sub.exit, 0, sub.output);
      assert.equal(sub.output.trim(), 'acme/sensor-7/state online');
      const devices = await api.call('GET', '/v1/projects/acme/devices?certificateId=sensor-7');
      assert.equal(devices.body['total'], 1);
      const audit = await eventually(
        () => api.call('GET', '/v1/projects/acme/audit?perPage=5'),
        (a) => a.body['list'].some((e: { action: string }) => e.action === 'device.authenticate'),
      );
      assert.ok(audit.body['list'].some((e: { action: string; details: { transport: string } }) => e.action === 'device.authenticate' && e.details.transport === 'mqtt'));
    });

    it('refuses a client ID other than the certificate ID (identifier rejected)', async () => {
      const pub = await mosquitto('mosquitto_pub', api.server.mqttUrl, serverCa, files, ['-i', 'someone-else', '-t', 'acme/sensor-7/x', '-m', '1']);
      assert.notEqual(pub.exit, 0);
      assert.match(pub.output, /identifier rejected/);
    });

    it('gives an empty client ID the certificate ID', async () => {
      const session = await rawMqttSession(api.server.mqttUrl, serverCaPem, sensor.pem, sensor.keyPem, '');
      assert.equal(session.returnCode, 0);
      // A second connection with the certificate ID takes the session over: the same client ID.
      const pub = await mosquitto('mosquitto_pub', api.server.mqttUrl, serverCa, files, ['-i', 'sensor-7', '-t', 'acme/sensor-7/x', '-m', '1']);
      assert.equal(pub.exit, 0, pub.output);
      const closedAt = await Promise.race([session.closed, new Promise<number>((resolve) => setTimeout(() => resolve(-1), 3000))]);
      assert.notEqual(closedAt, -1, 'the empty-ID session was taken over by client ID sensor-7');
    });

    it('refuses subscriptions and publications outside the prefix', async () => {
      for (const filter of ['acme/other/#', '#', 'acme/+/state', 'acme/sensor-7']) {
        const sub = await mosquitto('mosquitto_sub', api.server.mqttUrl, serverCa, files, ['-i', 'sensor-7', '-t', filter, '-C', '1', '-W', '3']);
        assert.match(sub.output, /All subscription requests were denied/, filter);
      }
      const pub = await mosquitto('mosquitto_pub', api.server.mqttUrl, serverCa, files, ['-i', 'sensor-7', '-t', 'acme/other/state', '-m', 'x', '-q', '1']);
      assert.notEqual(pub.exit, 0, 'the broker drops a client publishing outside its prefix');
      const retained = await mosquitto('mosquitto_sub', api.server.mqttUrl, serverCa, files, ['-i', 'sensor-7', '-t', 'acme/sensor-7/#', '-C', '1', '-v', '-W', '3']);
      assert.doesNotMatch(retained.output, /acme\/other/);
    });
  });
}
