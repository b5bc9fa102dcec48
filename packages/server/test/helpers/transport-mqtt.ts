import { readFileSync } from 'node:fs';
import { attributeValues, loadCertificates, Oid } from '@fleetpki/pki';
import type { DeviceFiles } from './device-clients.js';
import { mosquitto, rawMqttSession } from './mqtt-clients.js';
import { closedAfter, type Transport } from './transport.js';

/**
 * The client ID and topic prefix a device's firmware is configured with: its certificate's CN
 * and O, read from the leaf as the gateway reads them (any O and CN, so refused names get as far
 * as the gateway too).
 */
function mqttNames(files: DeviceFiles | undefined): { clientId: string; prefix: string } {
  if (!files) return { clientId: 'no-certificate', prefix: 'no-certificate/no-certificate' };
  const [leaf] = loadCertificates(readFileSync(files.cert));
  if (!leaf) throw new Error(`no certificate in ${files.cert}`);
  const [project = ''] = attributeValues(leaf.subject, Oid.organizationName);
  const [certificateId = ''] = attributeValues(leaf.subject, Oid.commonName);
  return { clientId: certificateId, prefix: `${project}/${certificateId}` };
}

/** How mosquitto words the CONNACK it got: 'accepted', or its refusal ('not authorised', 'identifier rejected'). */
function connackWords(exit: number, output: string): string {
  if (exit === 0) return 'accepted';
  return /Connection Refused: ([^.]+)\./.exec(output)?.[1] ?? `no CONNACK (exit ${exit})`;
}

/** MQTT over TLS: mosquitto_pub publishes once under the device's own prefix; a session is held with a raw CONNECT. */
export const MQTT: Transport = {
  name: 'mqtt',
  answersWithBody: false,
  // The gateway answers every refused device CONNACK 5 (MQTT 3.1.1 §3.2.2.3); the audit log has the code.
  refusalStatus: () => 'not authorised',
  clients: [
    {
      name: 'mosquitto_pub',
      sendsIntermediates: true,
      async attempt(gateway, files, env = {}) {
        const { clientId, prefix } = mqttNames(files);
        const r = await mosquitto('mosquitto_pub', gateway.urls.mqttUrl, gateway.serverCaFile, files, ['-i', clientId, '-t', `${prefix}/admission`, '-m', 'hello'], env);
        const status = connackWords(r.exit, r.output);
        return { admitted: status === 'accepted', status, body: undefined, output: `mosquitto_pub exited ${r.exit}: ${r.output}` };
      },
    },
  ],
  async hold(gateway, files) {
    const read = (file: string): string => readFileSync(file, 'utf8');
    const session = await rawMqttSession(gateway.urls.mqttUrl, read(gateway.serverCaFile), read(files.cert), read(files.key), mqttNames(files).clientId);
    if (session.returnCode !== 0) {
      session.socket.destroy();
      throw new Error(`the gateway refused the device: CONNACK ${session.returnCode}`);
    }
    return { identity: undefined, closedAfter: (since, timeoutMs) => closedAfter(session.closed, since, timeoutMs), end: () => session.socket.destroy() };
  },
};
