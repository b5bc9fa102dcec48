import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** A DTLS server context (SSL_CTX) or session (SSL) held by the addon. */
export interface NativeHandle {
  readonly __nativeDtls: unique symbol;
}

export type NativeState = 'listening' | 'handshaking' | 'established' | 'closed' | 'failed';

/** What one call into OpenSSL produced: datagrams to send, plaintext received, the state after. */
export interface NativeResult {
  readonly out: Buffer[];
  readonly data: Buffer[];
  readonly state: NativeState;
  /** OpenSSL's reason code (ERR_GET_REASON) when the state is 'failed', else 0. */
  readonly reason: number;
  readonly reasonText: string;
}

export interface NativeDtls {
  /** `client` true: a DTLS client context (the bench's load generator and tests). */
  createContext(certChainPem: Buffer, keyPem: Buffer, cipherList: string, client?: boolean): NativeHandle;
  createSession(context: NativeHandle): NativeHandle;
  listen(session: NativeHandle, datagram: Buffer, cookies: readonly Buffer[]): NativeResult;
  feed(session: NativeHandle, datagram: Buffer): NativeResult;
  /** Client role: starts the handshake (ClientHello). */
  connect(session: NativeHandle): NativeResult;
  write(session: NativeHandle, plaintext: Buffer): NativeResult;
  timeout(session: NativeHandle): number;
  handleTimeout(session: NativeHandle): NativeResult;
  shutdown(session: NativeHandle): NativeResult;
  free(session: NativeHandle): void;
  peerChain(session: NativeHandle): Buffer[];
  pendingKeyExchange(session: NativeHandle): 'psk' | 'ecdhe' | '';
  setPsk(session: NativeHandle, identity: string, key: Buffer | null): void;
  info(session: NativeHandle): { cipher: string; pskIdentity: string | null; extendedMasterSecret: boolean };
  readonly REASON_BAD_SIGNATURE: number;
  readonly REASON_PSK_IDENTITY_NOT_FOUND: number;
  readonly REASON_DIGEST_CHECK_FAILED: number;
}

/** Where node-gyp puts the addon (built from packages/server/native/dtls on install). */
export const NATIVE_DTLS_PATH = fileURLToPath(new URL('../../../native/dtls/build/Release/fleetpki_dtls.node', import.meta.url));

let loaded: NativeDtls | undefined;

/** The addon, loaded on first use so a server without CoAP never needs it. */
export function nativeDtls(): NativeDtls {
  loaded ??= createRequire(import.meta.url)(NATIVE_DTLS_PATH) as NativeDtls;
  return loaded;
}
