import type { TlsOptions } from 'node:tls';
import type { DeviceAuthenticator } from '../domain/identity/index.js';
import type { PkiDeps } from '../domain/issuance/index.js';
import type { Logger } from '../logger.js';
import type { ConnectionRegistry } from './connection-registry.js';

/** What every device transport (HTTPS, MQTT) is given: the one identity service and its bookkeeping. */
export interface DeviceTransportOptions {
  readonly authenticator: DeviceAuthenticator;
  readonly registry: ConnectionRegistry;
  /** The integrated PKI, for certificate rotation and EST on the HTTPS gateway. */
  readonly pki: PkiDeps;
  readonly tls: TlsOptions;
  readonly host: string;
  readonly port: number;
  readonly logger: Logger;
  /** Handshakes in progress past which a new connection is refused as it is accepted (handshake-admission.ts). */
  readonly maxPendingHandshakes: number;
  /** Counts each connection refused so (the DTLS transport's dropped ClientHellos too). */
  readonly admissionRejected: (transport: 'https' | 'mqtt' | 'coap') => void;
}
