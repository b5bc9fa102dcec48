import { createPrivateKey, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { decodePem, directoryName, parseCertificate, signingAlgorithmFor } from '@fleetpki/pki';
import type { DeviceAuthResult } from '../identity/index.js';

interface Responder {
  readonly key: KeyObject;
  readonly chain: readonly Buffer[];
  readonly name: Buffer;
  readonly algorithm: Buffer;
}

/**
 * What the CMP server needs besides the store and the pipeline, set once the server has them:
 * - the identity service, to authenticate a device by the certificate that signed its message
 *   (kur, rr: RFC 9483 §4.1.3, §4.2);
 * - the key it signs answers to signed requests with: the platform's server certificate, the one
 *   devices already trust for TLS (a client checks it with `openssl cmp -trusted server-ca.pem`).
 */
export class CmpServices {
  private authenticator: ((chain: readonly Buffer[]) => Promise<DeviceAuthResult>) | undefined;
  private responder: Responder | undefined;

  useAuthenticator(authenticate: (chain: readonly Buffer[]) => Promise<DeviceAuthResult>): void {
    this.authenticator = authenticate;
  }

  useResponder(serverChainPem: string, serverKeyPem: string): void {
    const key = createPrivateKey(serverKeyPem);
    const chain = decodePem(serverChainPem).map((block) => block.der);
    this.responder = { key, chain, name: directoryName(parseCertificate(chain[0] as Buffer).subject.der), algorithm: signingAlgorithmFor(key).identifier };
  }

  authenticateDevice(chain: readonly Buffer[]): Promise<DeviceAuthResult> {
    if (!this.authenticator) return Promise.resolve({ ok: false, code: 'NO_CLIENT_CERTIFICATE', message: 'the device-identity service is not running yet' });
    return this.authenticator(chain);
  }

  private get own(): Responder {
    if (!this.responder) throw new Error('CMP answers are signed once the server certificate is loaded');
    return this.responder;
  }

  /** The server certificate and its chain, DER, leaf first: the answers' extraCerts. */
  get responderChain(): readonly Buffer[] {
    return this.own.chain;
  }

  /** The answers' sender: directoryName [4] of the server certificate's subject. */
  get responderName(): Buffer {
    return this.own.name;
  }

  /** The AlgorithmIdentifier the server signs with (its key's). */
  get signatureAlgorithm(): Buffer {
    return this.own.algorithm;
  }

  /** Signs an answer's ProtectedPart with `signatureAlgorithm`. */
  sign(data: Buffer): { readonly signature: Buffer } {
    const { key } = this.own;
    return { signature: cryptoSign(signingAlgorithmFor(key).hash, data, key) };
  }
}
