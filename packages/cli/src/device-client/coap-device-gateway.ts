import { createSocket, type Socket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import { Agent, request, type IncomingMessage } from 'coap';
import { loadCertificates, parseCertificate, verifyChain } from '@fleetpki/pki';
import { nativeDtls, type NativeDtls, type NativeHandle, type NativeResult } from '@fleetpki/server';
import { ApiClientError } from '../api-error.js';
import { CliError } from '../cli-error.js';
import { refusal, type DeviceCredentials, type DeviceGateway, type IdentityAnswer } from './device-gateway.js';

/** The suites fleetpki's CoAP gateway offers with certificates (RFC 7925 §3.3 names the first). */
const CIPHERS = 'ECDHE-ECDSA-AES128-CCM8:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256';
const HANDSHAKE_TIMEOUT_MS = 15_000;
const REQUEST_TIMEOUT_MS = 30_000;
/** RFC 7252 §12.3 Content-Formats of the rotation: application/pkcs10 in, application/pkix-cert out. */
const CONTENT_FORMAT_PKCS10 = 286;

/**
 * A DTLS session over one UDP socket, shaped as the `dgram` socket node-coap's Agent sends
 * through: node-coap (the CoAP library: messages, confirmable retransmission, block-wise) writes
 * plaintext CoAP, OpenSSL (fleetpki's DTLS addon, client role) encrypts it. Nothing of CoAP or
 * DTLS is written here; this only carries datagrams between the two.
 */
class DtlsDatagramSocket extends EventEmitter {
  readonly type = 'udp4';
  private state: NativeResult['state'] = 'handshaking';
  private settle: ((result: NativeResult) => void) | undefined;
  private retransmit: NodeJS.Timeout | undefined;

  constructor(
    private readonly native: NativeDtls,
    private readonly session: NativeHandle,
    private readonly udp: Socket,
    private readonly host: string,
    private readonly port: number,
  ) {
    super();
    udp.on('message', (datagram: Buffer) => this.apply(this.native.feed(this.session, datagram)));
    udp.on('error', (error) => this.emit('error', error));
  }

  /** The handshake: resolves once established, rejects with OpenSSL's reason when it fails. */
  handshake(): Promise<void> {
    return new Promise((resolve, reject) => {
      const deadline = setTimeout(() => reject(new ApiClientError('SERVER_TIMEOUT', `coaps://${this.host}:${this.port}: no DTLS handshake within ${HANDSHAKE_TIMEOUT_MS / 1000} s`)), HANDSHAKE_TIMEOUT_MS);
      this.settle = (result) => {
        clearTimeout(deadline);
        if (result.state === 'established') resolve();
        else reject(new ApiClientError('SERVER_UNREACHABLE', `coaps://${this.host}:${this.port}: the DTLS handshake failed (${result.reasonText || result.state})`));
      };
      this.apply(this.native.connect(this.session));
    });
  }

  peerChain(): Buffer[] {
    return this.native.peerChain(this.session);
  }

  // The dgram calls node-coap makes.
  send(buffer: Buffer, offset: number, length: number, _port: number, _host: string, callback?: (error: Error | null, bytes: number) => void): void {
    if (this.state !== 'established') {
      callback?.(new Error('the DTLS session is closed'), 0);
      return;
    }
    this.apply(this.native.write(this.session, buffer.subarray(offset, offset + length)));
    callback?.(null, length);
  }

  address() {
    return this.udp.address();
  }

  close(callback?: () => void): void {
    clearTimeout(this.retransmit);
    const goodbye = this.state === 'established' ? this.native.shutdown(this.session).out : [];
    this.native.free(this.session);
    this.state = 'closed';
    let left = goodbye.length;
    if (left === 0) this.udp.close(callback);
    for (const datagram of goodbye) this.udp.send(datagram, this.port, this.host, () => --left === 0 && this.udp.close(callback));
  }

  private apply(result: NativeResult): void {
    for (const datagram of result.out) this.udp.send(datagram, this.port, this.host);
    this.state = result.state;
    for (const data of result.data) this.emit('message', data, { address: this.host, port: this.port, family: 'IPv4', size: data.length });
    clearTimeout(this.retransmit);
    if (result.state === 'handshaking') {
      // DTLS retransmits its own flights (RFC 6347 §4.2.4): OpenSSL says when.
      const ms = this.native.timeout(this.session);
      if (ms >= 0) this.retransmit = setTimeout(() => this.apply(this.native.handleTimeout(this.session)), Math.max(ms, 1));
      return;
    }
    const settle = this.settle;
    this.settle = undefined;
    settle?.(result);
    if (result.state === 'failed') this.emit('error', new ApiClientError('SERVER_UNREACHABLE', `the DTLS session failed (${result.reasonText})`));
  }
}

/** The gateway over CoAP and DTLS 1.2 with the device's certificate (DESIGN §5). */
export class CoapDeviceGateway implements DeviceGateway {
  private constructor(
    private readonly socket: DtlsDatagramSocket,
    private readonly agent: Agent,
    private readonly url: URL,
  ) {}

  static async connect(url: URL, credentials: DeviceCredentials): Promise<CoapDeviceGateway> {
    if (!credentials.serverCaPem) throw new CliError('USAGE', 'coaps:// needs --server-ca: a DTLS gateway is checked against the server CA (fleetpki server-ca), not the system CAs');
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const port = url.port === '' ? 5684 : Number(url.port);
    const native = nativeDtls();
    const context = native.createContext(credentials.certPem, credentials.keyPem, CIPHERS, true);
    const udp = createSocket('udp4');
    await new Promise<void>((resolve) => udp.bind(0, resolve));
    const socket = new DtlsDatagramSocket(native, native.createSession(context), udp, host === 'localhost' ? '127.0.0.1' : host, port);
    try {
      await socket.handshake();
      checkServer(socket.peerChain(), credentials.serverCaPem, host);
    } catch (error) {
      socket.close();
      throw error;
    }
    return new CoapDeviceGateway(socket, new Agent({ socket: socket as unknown as Socket }), url);
  }

  async identity(): Promise<IdentityAnswer> {
    const response = await this.exchange('GET', '/v1/device/identity');
    if (!response.code.startsWith('2.')) throw refusal(statusOf(response.code), response.payload, 'GET coaps /v1/device/identity');
    return JSON.parse(response.payload.toString('utf8')) as IdentityAnswer;
  }

  async rotate(csrDer: Buffer): Promise<Buffer> {
    const response = await this.exchange('POST', '/v1/csr', csrDer);
    if (response.code !== '2.04' && response.code !== '2.05') throw refusal(statusOf(response.code), response.payload, 'POST coaps /v1/csr');
    return response.payload;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.agent.close();
      this.socket.close(resolve);
    });
  }

  private exchange(method: 'GET' | 'POST', pathname: string, payload?: Buffer): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const req = request({ hostname: this.url.hostname, port: Number(this.url.port || 5684), pathname, method, agent: this.agent, confirmable: true });
      if (payload) req.setOption('Content-Format', Buffer.from([CONTENT_FORMAT_PKCS10 >> 8, CONTENT_FORMAT_PKCS10 & 0xff]));
      const timer = setTimeout(() => reject(new ApiClientError('SERVER_TIMEOUT', `${method} coaps ${pathname}: no answer within ${REQUEST_TIMEOUT_MS / 1000} s`)), REQUEST_TIMEOUT_MS);
      req.on('response', (res: IncomingMessage) => {
        clearTimeout(timer);
        resolve(res);
      });
      req.on('error', (error: Error) => {
        clearTimeout(timer);
        reject(new ApiClientError('SERVER_UNREACHABLE', `${method} coaps ${pathname}: ${error.message}`));
      });
      req.end(payload);
    });
  }
}

/** A CoAP response code as the HTTP status a problem document carries (4.03 → 403). */
function statusOf(code: string): number {
  const [klass, detail] = code.split('.').map(Number);
  return (klass ?? 5) * 100 + (detail ?? 0);
}

/**
 * The gateway's chain, validated as a TLS server's (RFC 5280 path to the server CA, serverAuth,
 * the host name in its subjectAltName) by fleetpki's own validator: the DTLS client context
 * leaves the trust decision to the caller, as the server side does.
 */
function checkServer(chain: readonly Buffer[], serverCaPem: Buffer, host: string): void {
  const [leafDer, ...rest] = chain;
  if (!leafDer) throw new ApiClientError('SERVER_RESPONSE_INVALID', 'the CoAP gateway presented no certificate');
  const result = verifyChain({
    leaf: parseCertificate(leafDer),
    anchors: loadCertificates(serverCaPem),
    intermediates: rest.map((der) => parseCertificate(der)),
    time: new Date(),
    options: { purpose: 'server', peerNames: [{ kind: isIP(host) ? 'IP' : 'DNS', value: host }], crls: [] },
  });
  if (!result.ok) throw new ApiClientError('SERVER_UNREACHABLE', `the CoAP gateway's certificate does not verify against --server-ca for ${host}: ${result.code} (${result.message})`);
}
