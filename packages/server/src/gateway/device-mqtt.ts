import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import type { CertificateAuthenticatedDevice, DeviceAuthResult } from '../domain/identity/index.js';
import { isOwnTopic } from './device-topics.js';
import { isServerTopic, RenewalNotices, renewalTopic } from './mqtt-renewal-notices.js';
import { BoundedMqttConnection } from './mqtt-packet-bound.js';
import { ConnectionVerdicts } from './connection-verdicts.js';
import type { DeviceAuthFailureCode } from '../domain/identity/index.js';
import type { ServiceErrorCode } from '../service-error.js';
import { admitHandshakes } from './handshake-admission.js';
import { tlsClientErrorHandler } from './handshake-failure.js';
import { listen } from '../listen.js';
import type { DeviceTransportOptions } from './device-transport.js';
import { peerChain } from './peer-chain.js';
import { trackSockets } from './socket-tracker.js';
import { randomUUID } from 'node:crypto';
import type { ApplicationCredential } from '../domain/management/index.js';
import { ServiceError } from '../service-error.js';
import { addressedDevice, applicationBrokerClientId, mayApplicationPublish, mayApplicationSubscribe } from './mqtt-application-topics.js';
import { ApplicationSessions } from './mqtt-application-sessions.js';
import type { MqttCluster } from './mqtt-cluster.js';
import { REFUSED_CONNECTION_GRACE_MS } from './connection-verdicts.js';

/** How the broker admits applications: a project's slug and API key (docs/mqtt-applications.md). */
export interface MqttApplicationAccess {
  authenticate(slug: string | undefined, password: Buffer | undefined): Promise<ApplicationCredential>;
  /** Of these key IDs, those still live. */
  liveKeys(keyIds: readonly string[]): Promise<Set<string>>;
}

export interface DeviceMqttOptions extends DeviceTransportOptions {
  readonly applications: MqttApplicationAccess;
  /** With `serve --redis`: the emitter and persistence shared with the other nodes. */
  readonly cluster?: MqttCluster | undefined;
}

export interface DeviceMqtt {
  readonly url: string;
  close(): Promise<void>;
}

// MQTT 3.1.1 CONNACK return codes (§3.2.2.3).
const IDENTIFIER_REJECTED = 2;
const BAD_USERNAME_OR_PASSWORD = 4;
const NOT_AUTHORIZED = 5;

/** The broker's key for a device's session: unique across projects. */
function brokerClientId(device: { readonly projectId: string; readonly certificateId: string }): string {
  return `${device.projectId}/${device.certificateId}`;
}

/**
 * The longest topic or filter a device may use, in UTF-8 bytes: its prefix
 * `{projectId}/{certificateId}/` is at most 129, and AWS IoT Core allows 256 in all. Subscriptions
 * and retained messages are kept by topic, so this bounds what each of them holds.
 */
export const MAX_TOPIC_BYTES = 512;

/** The subscriptions one connection may hold; more filters are granted 0x80 (MQTT 3.1.1 §3.9.3). */
export const MAX_SUBSCRIPTIONS_PER_CONNECTION = 100;

/**
 * The topics under which one device may keep a retained message (they outlive its connection):
 * a retained publication to one more topic ends the session, as any refused publication does.
 */
export const MAX_RETAINED_TOPICS_PER_DEVICE = 32;

/**
 * QoS 2 publications one connection may have awaiting their PUBREL: each is kept whole until
 * then (aedes's default is 1,000); one more ends the session. 16 × 256 KiB = 4 MiB.
 */
export const MAX_INBOUND_QOS2_PER_CONNECTION = 16;

/**
 * What ill-formed UTF-8 decodes to (U+FFFD: the parser does not keep the bytes) and U+0000: a
 * topic holding either is refused, as MQTT 3.1.1 §1.5.3 requires [MQTT-1.5.3-1, MQTT-1.5.3-2].
 */
// eslint-disable-next-line no-control-regex -- matching U+0000 is the point
const ILL_FORMED_TOPIC = /[\u0000\ufffd]/;

/** MQTT admits devices by certificate only: the device of an admitting verdict, narrowed to that. */
function certificateDevice(result: DeviceAuthResult): CertificateAuthenticatedDevice | undefined {
  return result.ok && result.device.credential === 'certificate' ? result.device : undefined;
}

/** The part of aedes' persistence (memory or Redis) the broker's rules reach into; aedes' types leave it `any`. */
interface BrokerPersistence {
  addSubscriptions(client: Client, subscriptions: { topic: string }[], cb?: (error?: Error) => void): unknown;
  cleanSubscriptions(client: Client): Promise<unknown>;
}

function persistenceOf(broker: Aedes): BrokerPersistence {
  return (broker as unknown as { persistence: BrokerPersistence }).persistence;
}

/** An application's refusal: a key that is not one (4), or one not made for MQTT (5). */
function applicationRefusal(error: unknown): AuthenticateError {
  if (!(error instanceof ServiceError)) return refusal('INTERNAL_ERROR', NOT_AUTHORIZED);
  return refusal(error.code, error.code === 'API_KEY_SCOPE_MISSING' ? NOT_AUTHORIZED : BAD_USERNAME_OR_PASSWORD);
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
  const identities = new WeakMap<Client, CertificateAuthenticatedDevice>();
  /** Clients whose CONNECT carried a client ID other than their certificate ID (or empty). */
  const wrongIds = new WeakSet<Client>();
  /** The filters each connection has been granted (bounded by MAX_SUBSCRIPTIONS_PER_CONNECTION). */
  const granted = new WeakMap<Client, Set<string>>();
  /** Connections that sent no client certificate: an application's, if its CONNECT carries a key. */
  const withoutCertificate = new WeakSet<object>();
  /** Connections an application's key admitted (they outlive the refused connection's grace). */
  const admittedApplications = new WeakSet<object>();
  /** The verdict on an application's key, reached in preConnect (where its client ID is set). */
  const applicationVerdicts = new WeakMap<Client, Promise<ApplicationCredential>>();
  const applications = new ApplicationSessions(
    (keyIds) => options.applications.liveKeys(keyIds),
    (client) => {
      // A persistent session of a dead key must not go on collecting the project's messages.
      if (!client.clean) void persistenceOf(broker).cleanSubscriptions(client).catch(() => undefined);
      client.close();
    },
    options.logger,
  );
  /** The topics each device (by broker client ID) keeps a retained message under. */
  const retainedTopics = new Map<string, Set<string>>();
  const renewalNotices = new RenewalNotices(
    (devices) => options.authenticator.currentRenewals(devices),
    (error) => options.logger.log('error', 'the MQTT renewal notice failed', { error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
  );
  const broker = await Aedes.createBroker({
    ...(options.cluster ? { mq: options.cluster.mq, persistence: options.cluster.persistence } : {}),
    maxInflightInbound: MAX_INBOUND_QOS2_PER_CONNECTION,
    // aedes keys sessions by client ID across the whole broker, and certificate IDs are unique
    // only within a project: the broker-side ID is `{projectId}/{certificateId}`, so a device of
    // another project with the same certificate ID can never take over this one's session. The
    // client still sends its bare certificate ID (or an empty one, which is given it).
    //
    // Every session is clean: aedes persists a persistent session's subscriptions as the
    // SUBSCRIBE listed them, refused filters included (a filter refused beside a granted one let a
    // device of another project queue this project's messages for its next connection), and
    // queues unacknowledged QoS 1/2 messages for it without a bound. CONNACK's session-present
    // flag is then 0, which tells the device to subscribe again (MQTT 3.1.1 §3.2.2.2).
    //
    // An application (no client certificate, a project API key as password) may keep a persistent
    // session: only the filters it was granted are stored (keepGrantedFilters below), and with
    // Redis its offline queue expires (mqtt-cluster.ts).
    preConnect(client, packet, callback) {
      if (withoutCertificate.has(client.conn) && packet.username !== undefined) {
        const verdict = options.applications.authenticate(packet.username, packet.password);
        verdict.catch(() => undefined); // read in authenticate
        applicationVerdicts.set(client, verdict);
        verdict.then(
          (application) => {
            // MQTT 3.1.1 §3.1.3.1: an empty client ID gets one from the server, in a clean session.
            packet.clientId = applicationBrokerClientId(application, packet.clientId === '' ? randomUUID() : packet.clientId);
            callback(null, true);
          },
          () => callback(null, true),
        );
        return;
      }
      packet.clean = true;
      verdicts.of(client.conn).then(
        (result) => {
          const device = certificateDevice(result);
          if (device) {
            if (packet.clientId === '' || packet.clientId === device.certificateId) packet.clientId = brokerClientId(device);
            else wrongIds.add(client);
          }
          callback(null, true);
        },
        (error: Error) => callback(error, false),
      );
    },
    authenticate(client, _username, _password, done) {
      const applicationVerdict = applicationVerdicts.get(client);
      if (applicationVerdict) {
        applicationVerdict.then(
          (application) => {
            applications.add(client, application);
            admittedApplications.add(client.conn);
            options.logger.log('info', 'MQTT application connected', { projectId: application.projectId, keyPrefix: application.keyPrefix, clientId: client.id });
            done(null, true);
          },
          (error: unknown) => {
            options.logger.log('info', 'MQTT application refused', { code: error instanceof ServiceError ? error.code : 'INTERNAL_ERROR', username: _username ?? null });
            done(applicationRefusal(error), false);
          },
        );
        return;
      }
      // The conn is the BoundedMqttConnection handed to broker.handle below.
      if (withoutCertificate.has(client.conn)) trackDevice(client.conn as unknown as BoundedMqttConnection, []);
      verdicts.of(client.conn).then(
        (result) => {
          if (!result.ok) return done(refusal(result.code, NOT_AUTHORIZED), false);
          const device = certificateDevice(result);
          if (!device) return done(refusal('NO_CLIENT_CERTIFICATE', NOT_AUTHORIZED), false);
          if (wrongIds.has(client) || client.id !== brokerClientId(device)) {
            options.logger.log('info', 'MQTT client ID is not the certificate ID', { clientId: client.id, certificateId: device.certificateId });
            return done(refusal('CLIENT_ID_MISMATCH', IDENTIFIER_REJECTED), false);
          }
          identities.set(client, device);
          options.registry.add(device, 'mqtt', client, client.conn);
          done(null, true);
        },
        () => done(refusal('INTERNAL_ERROR', NOT_AUTHORIZED), false),
      );
    },
    authorizePublish(client, packet, callback) {
      if (!client) return callback(null); // the broker's own messages ($SYS)
      const device = identities.get(client);
      const application = device ? undefined : applications.credentialOf(client);
      if (application) {
        if (!mayApplicationPublish(application, packet.topic)) return callback(new Error(`publishing to ${packet.topic} is not allowed`));
      } else {
        if (!device || !isOwnTopic(device, packet.topic)) return callback(new Error(`publishing to ${packet.topic} is not allowed`));
        if (isServerTopic(device, packet.topic)) return callback(new Error(`${packet.topic} is the server's to publish under`));
      }
      if (ILL_FORMED_TOPIC.test(packet.topic)) return callback(new Error('a topic must be well-formed UTF-8 without U+0000'));
      if (Buffer.byteLength(packet.topic) > MAX_TOPIC_BYTES) return callback(new Error(`topics are limited to ${MAX_TOPIC_BYTES} bytes`));
      if (packet.retain) {
        // Counted against the device the topic belongs to, whoever publishes: an application's
        // retained command to a device shares that device's bound.
        const key = device ? brokerClientId(device) : addressedDevice(packet.topic);
        const topics = retainedTopics.get(key) ?? new Set<string>();
        if (packet.payload.length === 0) topics.delete(packet.topic); // clears the retained message (§3.3.1.3)
        else if (!topics.has(packet.topic)) {
          if (topics.size >= MAX_RETAINED_TOPICS_PER_DEVICE) return callback(new Error(`a device keeps retained messages under at most ${MAX_RETAINED_TOPICS_PER_DEVICE} topics`));
          topics.add(packet.topic);
        }
        if (topics.size > 0) retainedTopics.set(key, topics);
        else retainedTopics.delete(key);
      }
      callback(null);
    },
    authorizeSubscribe(client, subscription, callback) {
      const topic = subscription.topic;
      if (ILL_FORMED_TOPIC.test(topic)) return callback(new Error('a topic filter must be well-formed UTF-8 without U+0000'), null);
      // A refused filter is granted QoS 0x80 (MQTT 3.1.1 §3.9.3): the client learns it, the connection stays.
      if (!mayHold(client, topic)) return callback(null, null);
      let filters = granted.get(client);
      if (!filters) granted.set(client, (filters = new Set()));
      if (!filters.has(topic)) {
        if (filters.size >= MAX_SUBSCRIPTIONS_PER_CONNECTION) return callback(null, null);
        filters.add(topic);
      }
      callback(null, subscription);
    },
  });

  /** Whether this connection may hold a subscription to `filter` (the count bound aside). */
  function mayHold(client: Client, filter: string): boolean {
    if (Buffer.byteLength(filter) > MAX_TOPIC_BYTES) return false;
    const device = identities.get(client);
    if (device) return isOwnTopic(device, filter);
    const application = applications.credentialOf(client);
    return application !== undefined && mayApplicationSubscribe(application, filter);
  }

  // aedes stores a persistent session's SUBSCRIBE as the client sent it, refused filters included,
  // and then queues matching messages for the session while it is offline. Only the filters the
  // rules grant are handed on to the store.
  const persistence = persistenceOf(broker);
  const addSubscriptions = persistence.addSubscriptions.bind(persistence);
  persistence.addSubscriptions = (client, subscriptions, cb) => addSubscriptions(client, subscriptions.filter((s) => mayHold(client, s.topic)), cb);

  broker.on('unsubscribe', (topics: string[], client: Client) => {
    const filters = granted.get(client);
    if (filters) for (const topic of topics) filters.delete(topic);
    const device = identities.get(client);
    if (device && topics.includes(renewalTopic(device))) renewalNotices.forget(client);
  });
  broker.on('subscribe', (subscriptions: { topic: string }[], client: Client) => {
    const device = client ? identities.get(client) : undefined;
    if (device && subscriptions.some((s) => s.topic === renewalTopic(device))) renewalNotices.watch(client, device);
  });
  broker.on('clientDisconnect', (client: Client) => {
    renewalNotices.forget(client);
    applications.forget(client);
  });

  const server: TlsServer = createTlsServer(options.tls);
  const sockets = trackSockets(server);
  admitHandshakes(server, options.maxPendingHandshakes, () => options.admissionRejected('mqtt'));
  /** Asks the identity service about the device on `conn`; admitted in the broker's authenticate hook, once the client ID is checked too. */
  function trackDevice(conn: BoundedMqttConnection, chain: Buffer[]): void {
    verdicts.track(conn, options.authenticator.authenticate(chain, { transport: 'mqtt', remoteAddress: conn.remoteAddress }), {
      end: () => conn.destroy(),
      failed: (error) => {
        options.logger.log('error', 'device authentication failed unexpectedly', { error: (error as Error).stack ?? String(error) });
        conn.destroy();
      },
    });
  }

  server.on('secureConnection', (socket: TLSSocket) => {
    // The broker reads through the packet bound, never the socket itself (mqtt-packet-bound.ts).
    const conn = new BoundedMqttConnection(socket, (why) => options.logger.log('info', 'MQTT connection cut at a bound', { why, remoteAddress: socket.remoteAddress ?? null }));
    const chain = peerChain(socket);
    if (chain.length > 0) trackDevice(conn, chain);
    else {
      // No certificate: an application, if its CONNECT carries a key, else a refused device
      // (authenticate hook). Either way it has the refused connection's grace to say which.
      withoutCertificate.add(conn);
      setTimeout(() => {
        if (!admittedApplications.has(conn)) conn.destroy();
      }, REFUSED_CONNECTION_GRACE_MS).unref();
    }
    broker.handle(conn);
  });
  server.on('tlsClientError', tlsClientErrorHandler(options.authenticator, 'mqtt', options.logger));

  const url = await listen(server, options.port, options.host, 'mqtts');
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        renewalNotices.close();
        applications.stop();
        broker.close(() =>
          server.close(() => {
            if (options.cluster) options.cluster.close().then(resolve, resolve);
            else resolve();
          }),
        );
        sockets.destroyAll();
      }),
  };
}
