import type { AddressInfo } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import type { DeviceAuthResult } from '../domain/device-authentication.js';
import { isOwnTopic } from './device-topics.js';
import { recordHandshakeFailure } from './handshake-failure.js';
import type { DeviceTransportOptions } from './device-transport.js';
import { peerChain } from './peer-chain.js';

export type DeviceMqttOptions = DeviceTransportOptions;

export interface DeviceMqtt {
  readonly url: string;
  close(): Promise<void>;
}

// MQTT 3.1.1 CONNACK return codes (§3.2.2.3).
const IDENTIFIER_REJECTED = 2;
const NOT_AUTHORIZED = 5;

function refusal(message: string, returnCode: number): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}

/**
 * MQTT over TLS with client certificates, on the aedes broker. The same device-identity service
 * decides who is connecting; MQTT then adds two rules: the client ID is the certificate ID (an
 * empty one is given it), and a device publishes and subscribes only under
 * `{projectId}/{certificateId}/`.
 */
export async function startDeviceMqtt(options: DeviceMqttOptions): Promise<DeviceMqtt> {
  const verdicts = new WeakMap<object, Promise<DeviceAuthResult>>();
  const identities = new WeakMap<Client, Extract<DeviceAuthResult, { ok: true }>['device']>();
  const broker = await Aedes.createBroker({
    // An empty client ID becomes the certificate ID before aedes assigns one of its own.
    preConnect(client, packet, callback) {
      const verdict = verdicts.get(client.conn);
      if (!verdict) return callback(null, false);
      verdict.then(
        (result) => {
          if (result.ok && !packet.clientId) packet.clientId = result.device.certificateId;
          callback(null, true);
        },
        (error: Error) => callback(error, false),
      );
    },
    authenticate(client, _username, _password, done) {
      const verdict = verdicts.get(client.conn);
      if (!verdict) return done(refusal('NO_CLIENT_CERTIFICATE', NOT_AUTHORIZED), false);
      verdict.then(
        (result) => {
          if (!result.ok) return done(refusal(result.code, NOT_AUTHORIZED), false);
          if (client.id !== result.device.certificateId) {
            options.logger.log('info', 'MQTT client ID is not the certificate ID', { clientId: client.id, certificateId: result.device.certificateId });
            return done(refusal('CLIENT_ID_MISMATCH', IDENTIFIER_REJECTED), false);
          }
          identities.set(client, result.device);
          const unregister = options.registry.add({ device: result.device, close: () => client.close() });
          options.enforcer.admitted(result.device.projectKey, result.device.authGeneration);
          client.conn.once('close', unregister);
          done(null, true);
        },
        () => done(refusal('INTERNAL_ERROR', NOT_AUTHORIZED), false),
      );
    },
    authorizePublish(client, packet, callback) {
      const device = client ? identities.get(client) : undefined;
      if (!client) return callback(null); // the broker's own messages ($SYS)
      if (!device || !isOwnTopic(device, packet.topic)) return callback(new Error(`publishing to ${packet.topic} is not allowed`));
      callback(null);
    },
    authorizeSubscribe(client, subscription, callback) {
      const device = identities.get(client);
      // A refused filter is granted QoS 0x80 (MQTT 3.1.1 §3.9.3): the client learns it, the connection stays.
      callback(null, device && isOwnTopic(device, subscription.topic) ? subscription : null);
    },
  });

  const server: TlsServer = createTlsServer(options.tls);
  server.on('secureConnection', (socket: TLSSocket) => {
    const verdict = options.authenticator.authenticate(peerChain(socket), { transport: 'mqtt', remoteAddress: socket.remoteAddress });
    verdict.catch(() => {}); // awaited by the broker's hooks; logged there
    verdicts.set(socket, verdict);
    broker.handle(socket);
  });
  server.on('tlsClientError', (error: Error & { code?: string }, socket: TLSSocket) => recordHandshakeFailure(options.authenticator, error, socket, 'mqtt', options.logger));

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `mqtts://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        broker.close(() => server.close(() => resolve()));
      }),
  };
}
