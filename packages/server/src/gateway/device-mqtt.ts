import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import type { DeviceAuthResult } from '../domain/identity/index.js';
import { isOwnTopic } from './device-topics.js';
import { BoundedMqttConnection } from './mqtt-packet-bound.js';
import { ConnectionVerdicts } from './connection-verdicts.js';
import type { DeviceAuthFailureCode } from '../domain/identity/index.js';
import type { ServiceErrorCode } from '../service-error.js';
import { tlsClientErrorHandler } from './handshake-failure.js';
import { listen } from '../listen.js';
import type { DeviceTransportOptions } from './device-transport.js';
import { peerChain } from './peer-chain.js';
import { trackSockets } from './socket-tracker.js';

export type DeviceMqttOptions = DeviceTransportOptions;

export interface DeviceMqtt {
  readonly url: string;
  close(): Promise<void>;
}

// MQTT 3.1.1 CONNACK return codes (§3.2.2.3).
const IDENTIFIER_REJECTED = 2;
const NOT_AUTHORIZED = 5;

/** The broker's key for a device's session: unique across projects. */
function brokerClientId(device: { readonly projectId: string; readonly certificateId: string }): string {
  return `${device.projectId}/${device.certificateId}`;
}

/** An MQTT refusal: its message is the code, from the closed union. */
function refusal(code: ServiceErrorCode | DeviceAuthFailureCode, returnCode: number): AuthenticateError {
  return Object.assign(new Error(code), { returnCode }) as AuthenticateError;
}

/**
 * MQTT over TLS with client certificates, on the aedes broker. The same device-identity service
 * decides who is connecting; MQTT then adds two rules: the client ID is the certificate ID (an
 * empty one is given it), and a device publishes and subscribes only under
 * `{projectId}/{certificateId}/`.
 */
export async function startDeviceMqtt(options: DeviceMqttOptions): Promise<DeviceMqtt> {
  const verdicts = new ConnectionVerdicts(options.registry);
  const identities = new WeakMap<Client, Extract<DeviceAuthResult, { ok: true }>['device']>();
  /** Clients whose CONNECT carried a client ID other than their certificate ID (or empty). */
  const wrongIds = new WeakSet<Client>();
  const broker = await Aedes.createBroker({
    // aedes keys sessions by client ID across the whole broker, and certificate IDs are unique
    // only within a project: the broker-side ID is `{projectId}/{certificateId}`, so a device of
    // another project with the same certificate ID can never take over this one's session. The
    // client still sends its bare certificate ID (or an empty one, which is given it).
    preConnect(client, packet, callback) {
      verdicts.of(client.conn).then(
        (result) => {
          if (result.ok) {
            if (packet.clientId === '' || packet.clientId === result.device.certificateId) packet.clientId = brokerClientId(result.device);
            else wrongIds.add(client);
          }
          callback(null, true);
        },
        (error: Error) => callback(error, false),
      );
    },
    authenticate(client, _username, _password, done) {
      verdicts.of(client.conn).then(
        (result) => {
          if (!result.ok) return done(refusal(result.code, NOT_AUTHORIZED), false);
          if (wrongIds.has(client) || client.id !== brokerClientId(result.device)) {
            options.logger.log('info', 'MQTT client ID is not the certificate ID', { clientId: client.id, certificateId: result.device.certificateId });
            return done(refusal('CLIENT_ID_MISMATCH', IDENTIFIER_REJECTED), false);
          }
          identities.set(client, result.device);
          options.registry.add(result.device, client, client.conn);
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
  const sockets = trackSockets(server);
  server.on('secureConnection', (socket: TLSSocket) => {
    // The broker reads through the packet bound, never the socket itself (mqtt-packet-bound.ts).
    const conn = new BoundedMqttConnection(socket, (why) => options.logger.log('info', 'MQTT connection cut at a bound', { why, remoteAddress: socket.remoteAddress ?? null }));
    // Admitted in the broker's authenticate hook, once the client ID is checked too.
    verdicts.track(conn, options.authenticator.authenticate(peerChain(socket), { transport: 'mqtt', remoteAddress: socket.remoteAddress }), {
      end: () => conn.destroy(),
      failed: (error) => {
        options.logger.log('error', 'device authentication failed unexpectedly', { error: (error as Error).stack ?? String(error) });
        conn.destroy();
      },
    });
    broker.handle(conn);
  });
  server.on('tlsClientError', tlsClientErrorHandler(options.authenticator, 'mqtt', options.logger));

  const url = await listen(server, options.port, options.host, 'mqtts');
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        broker.close(() => server.close(() => resolve()));
        sockets.destroyAll();
      }),
  };
}
