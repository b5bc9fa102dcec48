import type { DeviceTransportOptions } from './device-transport.js';
import { refusalStatus, type AuthenticatedDevice, type DeviceAuthenticator, type DeviceAuthResult } from '../domain/identity/index.js';
import type { PkiDeps } from '../domain/issuance/index.js';
import type { PskAuthenticator } from '../domain/identity/index.js';
import { PROBLEM_STATUS } from '../edge/problem-status.js';
import { coapCodeFor } from '../edge/coap-code.js';
import { isServiceError } from '../service-error.js';
import type { Logger } from '../logger.js';
import { BlockBudget } from './coap-blocks.js';
import { CoapSession, problem, type CoapGate, type CoapRequest, type CoapResponse } from './coap-session.js';
import type { ConnectionRegistry } from './connection-registry.js';
import { ConnectionVerdicts } from './connection-verdicts.js';
import { DtlsServer, type DtlsHandshakeFailure, type DtlsLimits, type DtlsPeer } from './dtls-server.js';
import { nativeDtls } from './native-dtls.js';
import { MAX_CSR_BYTES, renewDeviceCertificate } from '../domain/issuance/index.js';
import { MAX_TOKEN_REQUEST_BYTES, type DeviceTokenIssuer } from '../domain/tokens/index.js';
import { coapTokenRequest, DEVICE_TOKEN_PATH } from './token-endpoint.js';

/** The device identity resource, the same path as on HTTPS (DESIGN §5). */
export const COAP_IDENTITY_PATH = '/v1/device/identity';

/** Certificate rotation, the path Golioth's firmware SDK posts its CSR to (DESIGN §5). */
export const COAP_CSR_PATH = '/v1/csr';

/** RFC 9148 §8.4 Content-Formats: application/pkcs10 and application/pkix-cert; RFC 7252 §12.3: JSON and link-format. */
const CONTENT_FORMAT_PKCS10 = 286;
const CONTENT_FORMAT_PKIX_CERT = 287;
const CONTENT_FORMAT_JSON = 50;
const CONTENT_FORMAT_LINK_FORMAT = 40;

/**
 * Bytes all sessions together may hold for Block1 uploads and Block2 answers: 256 CSRs of the
 * largest size at once. Past it an upload is answered 5.03 and the client tries again later;
 * per session at most one upload (MAX_CSR_BYTES) and one answer are held.
 */
export const COAP_BLOCK_BUDGET_BYTES = 256 * MAX_CSR_BYTES;

/** RFC 6690 §2: what a device finds at /.well-known/core. */
const WELL_KNOWN_CORE = `<${COAP_IDENTITY_PATH}>;rt="fleetpki.device-identity";ct=50,<${COAP_CSR_PATH}>;rt="fleetpki.csr";ct=${CONTENT_FORMAT_PKIX_CERT},<${DEVICE_TOKEN_PATH}>;rt="fleetpki.token";ct=50`;

export interface DeviceCoapOptions {
  readonly authenticator: DeviceAuthenticator;
  readonly psk: PskAuthenticator;
  readonly registry: ConnectionRegistry;
  /** The integrated PKI, for `POST /v1/csr` rotation. */
  readonly pki: PkiDeps;
  /** Device identity tokens, `POST /v1/token` (RFC 8705). */
  readonly tokens: DeviceTokenIssuer;
  readonly certChainPem: string;
  readonly keyPem: string;
  readonly host: string;
  readonly port: number;
  readonly logger: Logger;
  readonly limits?: Partial<DtlsLimits> | undefined;
  /** Counts a ClientHello dropped at the half-open or session bound (the admission metric). */
  readonly admissionRejected?: DeviceTransportOptions['admissionRejected'] | undefined;
}

export interface DeviceCoap {
  /** `coaps://host:port` */
  readonly url: string;
  readonly port: number;
  readonly dtls: DtlsServer;
  /** Bytes held for block transfers now, all sessions together. */
  readonly blockBytesInUse: () => number;
  close(): Promise<void>;
}

/**
 * CoAP over DTLS 1.2 on `--coap-port` (Golioth's device transport): each DTLS session is
 * authenticated once, when its handshake finishes, by the same identity service as HTTPS and
 * MQTT (certificate chain) or by the device's pre-shared key; admitted sessions are registered
 * so disabling the device or its CA ends them. Each session has its own CoAP layer
 * (coap-session.ts), which reads a request only once the session's verdict admits it.
 */
export async function startDeviceCoap(options: DeviceCoapOptions): Promise<DeviceCoap> {
  const facts = (peer: DtlsPeer) => ({ transport: 'coap' as const, remoteAddress: peer.address });
  const logError = (what: string) => (error: unknown) => options.logger.log('error', what, { error: (error as Error).stack ?? String(error) });
  const dtls = new DtlsServer({
    certChainPem: options.certChainPem,
    keyPem: options.keyPem,
    lookupPsk: (identity) => options.psk.keyFor(identity),
    limits: options.limits,
    onError: logError('a DTLS datagram failed; its session was ended'),
    onAdmissionRefused: () => options.admissionRejected?.('coap'),
  });
  const budget = new BlockBudget(COAP_BLOCK_BUDGET_BYTES);
  const verdicts = new ConnectionVerdicts(options.registry);
  const sessions = new WeakMap<DtlsPeer, CoapSession<AuthenticatedDevice>>();

  dtls.on('session', (peer) => {
    const verdict = peer.pskIdentity !== null ? options.psk.authenticate(peer.pskIdentity, facts(peer)) : options.authenticator.authenticate(peer.chain, facts(peer));
    verdicts.track(peer, verdict, {
      admit: (result) => {
        if (!peer.closed) options.registry.add(result.device, 'coap', peer, peer);
      },
      end: () => peer.destroy(),
      failed: (error) => {
        logError('device authentication failed unexpectedly')(error);
        peer.destroy();
      },
    });
    const session = new CoapSession<AuthenticatedDevice>({
      send: (datagram) => peer.send(datagram),
      gate: () => gateOf(peer),
      bodyLimit: (method, path) => (method !== 'POST' ? 0 : path === COAP_CSR_PATH ? MAX_CSR_BYTES : path === DEVICE_TOKEN_PATH ? MAX_TOKEN_REQUEST_BYTES : 0),
      handle: (request, device) => handle(peer, request, device),
      budget,
      onError: logError('CoAP request failed'),
    });
    sessions.set(peer, session);
    peer.once('close', () => session.close());
  });
  dtls.on('handshakeFailed', (failure) => auditHandshakeFailure(options, failure));
  dtls.on('message', (peer, data) => sessions.get(peer)?.receive(data));

  /** A session stays admitted while the registry holds it (enforcement removes it by ending the session). */
  const gateOf = async (peer: DtlsPeer): Promise<CoapGate<AuthenticatedDevice>> => {
    const result = await verdicts.of(peer);
    return result.ok ? { ok: true, principal: result.device } : { ok: false, refusal: refusal(result) };
  };

  const handle = async (peer: DtlsPeer, request: CoapRequest, device: AuthenticatedDevice): Promise<CoapResponse> => {
    const { method, path } = request;
    if (path === '/.well-known/core') {
      if (method !== 'GET') return problem('4.05', 'METHOD_NOT_ALLOWED', '/.well-known/core answers GET');
      return { code: '2.05', contentFormat: CONTENT_FORMAT_LINK_FORMAT, payload: Buffer.from(WELL_KNOWN_CORE) };
    }
    if (path === COAP_CSR_PATH) {
      if (method !== 'POST') return problem('4.05', 'METHOD_NOT_ALLOWED', `${COAP_CSR_PATH} answers POST`);
      return rotate(request, device);
    }
    if (path === DEVICE_TOKEN_PATH) {
      if (method !== 'POST') return problem('4.05', 'METHOD_NOT_ALLOWED', `${DEVICE_TOKEN_PATH} answers POST`);
      return coapTokenRequest(request, device, options.tokens);
    }
    // Nothing of the request's path is echoed: it is the peer's bytes, of any length and encoding.
    if (path !== COAP_IDENTITY_PATH) return problem('4.04', 'ROUTE_NOT_FOUND', `no such resource; see /.well-known/core`);
    if (method !== 'GET') return problem('4.05', 'METHOD_NOT_ALLOWED', `${COAP_IDENTITY_PATH} answers GET`);
    const { projectId, deviceId, deviceName, provisioning, credential } = device;
    const who = device.credential === 'certificate' ? { certificateId: device.certificateId, certificate: device.certificate } : { certificateId: null, pskIdentity: device.pskIdentity };
    const body = { projectId, ...who, deviceId, deviceName, provisioning, credential };
    return { code: '2.05', contentFormat: CONTENT_FORMAT_JSON, payload: Buffer.from(JSON.stringify(body)) };
  };

  /**
   * Golioth's rotation over CoAP: a DER PKCS#10 in, the DER certificate out (2.04 Changed), for
   * the identity the session's certificate authenticated — whatever the CSR's subject says.
   */
  const rotate = async (request: CoapRequest, device: AuthenticatedDevice): Promise<CoapResponse> => {
    if (request.contentFormat !== undefined && request.contentFormat !== CONTENT_FORMAT_PKCS10) {
      return problem('4.15', 'UNSUPPORTED_MEDIA_TYPE', `send the CSR as DER PKCS#10 (Content-Format ${CONTENT_FORMAT_PKCS10})`);
    }
    try {
      const issued = await renewDeviceCertificate(options.pki, device, request.payload, 'rotation');
      return { code: '2.04', contentFormat: CONTENT_FORMAT_PKIX_CERT, payload: issued.der };
    } catch (error) {
      if (!isServiceError(error)) throw error;
      return problem(coapCodeFor(PROBLEM_STATUS[error.code]), error.code, error.message);
    }
  };

  const bound = await dtls.listen(options.port, options.host);
  const hostPart = bound.address.includes(':') ? `[${bound.address}]` : bound.address;
  return {
    url: `coaps://${hostPart}:${bound.port}`,
    port: bound.port,
    dtls,
    blockBytesInUse: () => budget.inUse,
    async close() {
      await dtls.close();
    },
  };
}

/** A refused session's answer: 4.01 or 4.03 from the same status as on HTTPS (RFC 7252 §5.9.2.2, §5.9.2.4). */
function refusal(result: Extract<DeviceAuthResult, { ok: false }>): CoapResponse {
  return problem(coapCodeFor(refusalStatus(result.code)), result.code, result.message, result.context);
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
  void audited(
    options.authenticator.recordHandshakeFailure({ chain: failure.chain, signatureFailed: failure.reason === nativeDtls().REASON_BAD_SIGNATURE, reason: failure.reasonText || failure.kind }, facts),
  );
}
