import { EventEmitter } from 'node:events';
import { createServer as createCoapServer, type IncomingMessage, type OutgoingMessage } from 'coap';
import type { DeviceAuthenticator, DeviceAuthResult } from '../domain/device-authentication.js';
import type { PkiDeps } from '../domain/pki-deps.js';
import type { PskAuthenticator } from '../domain/psk-authentication.js';
import { PROBLEM_STATUS } from '../http/problem-status.js';
import { isServiceError } from '../service-error.js';
import type { Logger } from '../logger.js';
import type { ConnectionRegistry } from './connection-registry.js';
import { DtlsServer, type DtlsHandshakeFailure, type DtlsLimits, type DtlsPeer } from './dtls-server.js';
import { nativeDtls } from './native-dtls.js';
import { MAX_CSR_BYTES, renewDeviceCertificate } from './device-rotation.js';

/** How long a refused session may stay to fetch the answer that says why (as on HTTPS). */
export const REFUSED_SESSION_GRACE_MS = 5_000;

/** The device identity resource, the same path as on HTTPS (DESIGN §5). */
export const COAP_IDENTITY_PATH = '/v1/device/identity';

/** Certificate rotation, the path Golioth's firmware SDK posts its CSR to (DESIGN §5). */
export const COAP_CSR_PATH = '/v1/csr';

/** RFC 9148 §8.4 Content-Formats: application/pkcs10 and application/pkix-cert. */
const CONTENT_FORMAT_PKCS10 = 286;
const CONTENT_FORMAT_PKIX_CERT = 287;

/** RFC 6690 §2: what a device finds at /.well-known/core. */
const WELL_KNOWN_CORE = `<${COAP_IDENTITY_PATH}>;rt="fleetpki.device-identity";ct=50,<${COAP_CSR_PATH}>;rt="fleetpki.csr";ct=${CONTENT_FORMAT_PKIX_CERT}`;

export interface DeviceCoapOptions {
  readonly authenticator: DeviceAuthenticator;
  readonly psk: PskAuthenticator;
  readonly registry: ConnectionRegistry;
  /** The integrated PKI, for `POST /v1/csr` rotation. */
  readonly pki: PkiDeps;
  readonly certChainPem: string;
  readonly keyPem: string;
  readonly host: string;
  readonly port: number;
  readonly logger: Logger;
  readonly limits?: Partial<DtlsLimits> | undefined;
}

export interface DeviceCoap {
  /** `coaps://host:port` */
  readonly url: string;
  readonly port: number;
  readonly dtls: DtlsServer;
  close(): Promise<void>;
}

/**
 * The socket the `coap` package is given: CoAP messages in and out of the DTLS sessions, each
 * addressed by its peer's address and port as on plain UDP (RFC 7252 §9.1: one DTLS session per
 * endpoint pair carries the CoAP messages of that pair).
 */
class DtlsCoapSocket extends EventEmitter {
  constructor(private readonly dtls: DtlsServer) {
    super();
  }

  send(buffer: Buffer, offset: number, length: number, port: number, address: string, callback?: (error: Error | null, bytes: number) => void): void {
    const peer = this.dtls.peerAt(address, port);
    if (peer) peer.send(buffer.subarray(offset, offset + length));
    callback?.(null, length);
  }

  close(): void {}
}

/**
 * CoAP over DTLS 1.2 on `--coap-port` (Golioth's device transport): each DTLS session is
 * authenticated once, when its handshake finishes, by the same identity service as HTTPS and
 * MQTT (certificate chain) or by the device's pre-shared key; admitted sessions are registered
 * so disabling the device or its CA ends them.
 */
export async function startDeviceCoap(options: DeviceCoapOptions): Promise<DeviceCoap> {
  const facts = (peer: DtlsPeer) => ({ transport: 'coap' as const, remoteAddress: peer.address });
  const dtls = new DtlsServer({
    certChainPem: options.certChainPem,
    keyPem: options.keyPem,
    lookupPsk: (identity) => options.psk.keyFor(identity),
    limits: options.limits,
  });
  // Pending verdicts and refusals; an admitted session is found in the registry.
  const verdicts = new WeakMap<DtlsPeer, Promise<DeviceAuthResult>>();

  dtls.on('session', (peer) => {
    const verdict = peer.pskIdentity !== null ? options.psk.authenticate(peer.pskIdentity, facts(peer)) : options.authenticator.authenticate(peer.chain, facts(peer));
    verdicts.set(peer, verdict);
    verdict.then(
      (result) => {
        if (!result.ok) {
          setTimeout(() => peer.destroy(), REFUSED_SESSION_GRACE_MS).unref();
          return;
        }
        if (!peer.closed) options.registry.add(result.device, peer, peer);
        verdicts.delete(peer);
      },
      (error: unknown) => {
        options.logger.log('error', 'device authentication failed unexpectedly', { error: (error as Error).stack ?? String(error) });
        peer.destroy();
      },
    );
  });
  dtls.on('handshakeFailed', (failure) => auditHandshakeFailure(options, failure));

  const socket = new DtlsCoapSocket(dtls);
  dtls.on('message', (peer, data) => socket.emit('message', data, { address: peer.address, port: peer.port, family: peer.address.includes(':') ? 'IPv6' : 'IPv4', size: data.length }));

  const verdictOf = async (peer: DtlsPeer): Promise<DeviceAuthResult> => {
    const device = options.registry.deviceOf(peer);
    if (device) return { ok: true, device };
    return (await verdicts.get(peer)) ?? { ok: false, code: 'NO_CLIENT_CERTIFICATE', message: 'this session was not authenticated' };
  };

  const coap = createCoapServer({ piggybackReplyMs: 500 });
  coap.on('request', (req: IncomingMessage, res: OutgoingMessage) => {
    handle(req, res).catch((error: unknown) => {
      options.logger.log('error', 'CoAP request failed', { error: (error as Error).stack ?? String(error) });
      reply(res, '5.00', { code: 'INTERNAL_ERROR', detail: 'the request failed; it is logged' });
    });
  });
  const handle = async (req: IncomingMessage, res: OutgoingMessage): Promise<void> => {
    const path = req.url.split('?')[0] ?? '/';
    const peer = dtls.peerAt(req.rsinfo.address, req.rsinfo.port);
    if (!peer) return; // the session ended while the request was queued
    if (path === '/.well-known/core' && req.method === 'GET') {
      res.code = '2.05';
      res.setOption('Content-Format', 'application/link-format');
      res.end(WELL_KNOWN_CORE);
      return;
    }
    if (path === COAP_CSR_PATH) {
      if (req.method !== 'POST') {
        reply(res, '4.05', { code: 'METHOD_NOT_ALLOWED', detail: `${path} answers POST` });
        return;
      }
      await rotate(peer, req, res);
      return;
    }
    if (path !== COAP_IDENTITY_PATH) {
      reply(res, '4.04', { code: 'ROUTE_NOT_FOUND', detail: `no resource ${path}` });
      return;
    }
    if (req.method !== 'GET') {
      reply(res, '4.05', { code: 'METHOD_NOT_ALLOWED', detail: `${path} answers GET` });
      return;
    }
    const result = await verdictOf(peer);
    if (!result.ok) {
      refuse(res, result);
      return;
    }
    const { projectId, certificateId, deviceId, deviceName, provisioning, credential } = result.device;
    reply(res, '2.05', { projectId, certificateId: credential === 'certificate' ? certificateId : null, deviceId, deviceName, provisioning, credential, ...(peer.pskIdentity !== null ? { pskIdentity: peer.pskIdentity } : {}) });
  };

  /**
   * Golioth's rotation over CoAP: a DER PKCS#10 in, the DER certificate out (2.04 Changed), for
   * the identity the session's certificate authenticated — whatever the CSR's subject says.
   */
  const rotate = async (peer: DtlsPeer, req: IncomingMessage, res: OutgoingMessage): Promise<void> => {
    const result = await verdictOf(peer);
    if (!result.ok) return refuse(res, result);
    if (result.device.credential !== 'certificate') {
      // DESIGN §5: rotation is authenticated by the device's current certificate.
      reply(res, '4.01', { code: 'NO_CLIENT_CERTIFICATE', detail: 'rotation needs a session authenticated with the device certificate' });
      return;
    }
    const format = req.headers['Content-Format'];
    if (format !== undefined && format !== CONTENT_FORMAT_PKCS10 && format !== 'application/pkcs10') {
      reply(res, '4.15', { code: 'UNSUPPORTED_MEDIA_TYPE', detail: `send the CSR as DER PKCS#10 (Content-Format ${CONTENT_FORMAT_PKCS10})` });
      return;
    }
    if (req.payload.length > MAX_CSR_BYTES) {
      reply(res, '4.13', { code: 'BODY_TOO_LARGE', detail: `a CSR is at most ${MAX_CSR_BYTES} bytes` });
      return;
    }
    try {
      const issued = await renewDeviceCertificate(options.pki, result.device, req.payload, 'rotation');
      res.code = '2.04';
      res.setOption('Content-Format', CONTENT_FORMAT_PKIX_CERT);
      res.end(issued.der);
    } catch (error) {
      if (!isServiceError(error)) throw error;
      reply(res, coapCodeFor(PROBLEM_STATUS[error.code]), { code: error.code, detail: error.message });
    }
  };

  const bound = await dtls.listen(options.port, options.host);
  await new Promise<void>((resolve) => coap.listen(socket, () => resolve()));
  const hostPart = bound.address.includes(':') ? `[${bound.address}]` : bound.address;
  return {
    url: `coaps://${hostPart}:${bound.port}`,
    port: bound.port,
    dtls,
    async close() {
      await new Promise<void>((resolve) => coap.close(() => resolve()));
      await dtls.close();
    },
  };
}

/** RFC 7252 §5.9 / RFC 8132: the CoAP response code of an HTTP status (4.09 and 4.22 exist since RFC 8132). */
function coapCodeFor(status: number): string {
  return `${Math.floor(status / 100)}.${String(status % 100).padStart(2, '0')}`;
}

/** RFC 7252 §5.9.2.2 / §5.9.2.4: 4.01 to a peer that presented nothing, 4.03 to one refused. */
function refuse(res: OutgoingMessage, result: Extract<DeviceAuthResult, { ok: false }>): void {
  reply(res, result.code === 'NO_CLIENT_CERTIFICATE' ? '4.01' : '4.03', { code: result.code, detail: result.message });
}

/** A JSON answer (Content-Format 50); refusals carry the stable failure code, as the HTTPS problem does. */
function reply(res: OutgoingMessage, code: string, body: Record<string, unknown>): void {
  res.code = code;
  res.setOption('Content-Format', 'application/json');
  res.end(JSON.stringify(body));
}

/**
 * Audits a handshake that failed after the client said who it is: a certificate whose
 * CertificateVerify does not verify (the certificate without its key), another failure after a
 * certificate, an unknown PSK identity, or a known identity whose key was not proven (with a
 * wrong key the client's Finished does not decrypt, and DTLS drops such records silently —
 * RFC 6347 §4.1.2.7 — so that one ends at the handshake deadline).
 */
function auditHandshakeFailure(options: DeviceCoapOptions, failure: DtlsHandshakeFailure): void {
  const { peer } = failure;
  const facts = { transport: 'coap' as const, remoteAddress: peer.address };
  options.logger.log('info', 'device DTLS handshake failed', { transport: 'coap', kind: failure.kind, reason: failure.reasonText, remoteAddress: peer.address });
  const audited = (promise: Promise<void>) =>
    promise.catch((error: unknown) => options.logger.log('error', 'cannot audit a failed handshake', { error: (error as Error).message }));
  if (failure.pskIdentity !== null || failure.reason === nativeDtls().REASON_PSK_IDENTITY_NOT_FOUND) {
    if (!failure.pskKnown) void audited(options.psk.recordHandshakeRefusal(failure.pskIdentity, 'PSK_IDENTITY_UNKNOWN', 'no credential has this PSK identity', facts));
    else void audited(options.psk.recordHandshakeRefusal(failure.pskIdentity, 'PSK_MISMATCH', 'the handshake did not prove the pre-shared key of this identity', facts));
    return;
  }
  if (failure.chain.length === 0) return;
  const stolen = failure.reason === nativeDtls().REASON_BAD_SIGNATURE;
  void audited(
    options.authenticator.recordHandshakeRefusal(
      failure.chain,
      stolen ? 'KEY_POSSESSION_NOT_PROVEN' : 'TLS_HANDSHAKE_FAILED',
      stolen ? 'the handshake signature does not verify with the certificate’s key: the client does not hold the key' : `the DTLS handshake failed: ${failure.reasonText || failure.kind}`,
      facts,
    ),
  );
}
