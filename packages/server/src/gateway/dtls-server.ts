import { randomBytes } from 'node:crypto';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { isIPv6 } from 'node:net';
import { DtlsCookies } from './dtls-cookies.js';
import { pskIdentityIn } from './dtls-psk-identity.js';
import { nativeDtls, type NativeDtls, type NativeHandle, type NativeResult } from './native-dtls.js';

/**
 * Golioth's seven DTLS 1.2 suites: ECDHE-ECDSA with AES-128-GCM, -CCM, -CCM-8 for certificates;
 * PSK with AES-128-GCM, -CCM, -CCM-8 and -CBC-SHA256 for pre-shared keys. Extended master secret
 * (RFC 7627) is on by default in OpenSSL.
 */
export const GOLIOTH_CIPHER_LIST = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES128-CCM',
  'ECDHE-ECDSA-AES128-CCM8',
  'PSK-AES128-GCM-SHA256',
  'PSK-AES128-CCM',
  'PSK-AES128-CCM8',
  'PSK-AES128-CBC-SHA256',
].join(':');

/** A plaintext ClientHello: handshake record (22) at epoch 0 whose first message is client_hello (1). */
function isClientHello(datagram: Buffer): boolean {
  return datagram.length >= 26 && datagram[0] === 22 && datagram[3] === 0 && datagram[4] === 0 && datagram[13] === 1;
}

/** Bounds on the server's state; every table keyed by something a peer chooses has one. */
export interface DtlsLimits {
  /** A handshake not finished by then is dropped (constrained devices on lossy links need seconds). */
  readonly handshakeTimeoutMs: number;
  /** An established session with no datagram for this long is reaped (RFC 7252 §4.8: NON/CON lifetimes are far shorter). */
  readonly idleTimeoutMs: number;
  /** Sessions past the cookie exchange whose handshake is not finished, all addresses together. */
  readonly maxHalfOpen: number;
  /** Half-open sessions from one IP address (one NAT may carry several devices). */
  readonly maxHalfOpenPerAddress: number;
  /** Established sessions from one IP address. */
  readonly maxSessionsPerAddress: number;
  /** Established sessions in all. */
  readonly maxSessions: number;
  /** Datagrams held for one session while its PSK is looked up. */
  readonly maxHeldDatagrams: number;
}

export const DEFAULT_DTLS_LIMITS: DtlsLimits = {
  handshakeTimeoutMs: 10_000,
  idleTimeoutMs: 300_000,
  maxHalfOpen: 1_000,
  maxHalfOpenPerAddress: 16,
  maxSessionsPerAddress: 1_000,
  maxSessions: 100_000,
  maxHeldDatagrams: 8,
};

/** Why a handshake ended without a session, for the caller's audit. */
export interface DtlsHandshakeFailure {
  readonly peer: DtlsPeer;
  /** 'deadline' when the handshake did not finish in time; else OpenSSL's reason. */
  readonly kind: 'deadline' | 'openssl';
  readonly reason: number;
  readonly reasonText: string;
  /** The chain the client sent, if it got that far. */
  readonly chain: Buffer[];
  /** The PSK identity the client named, and whether we knew it. */
  readonly pskIdentity: string | null;
  readonly pskKnown: boolean;
}

export interface DtlsServerEvents {
  /** The handshake finished: `peer.chain` or `peer.pskIdentity` says who claims to be there. */
  session: [peer: DtlsPeer];
  /** A decrypted application datagram. */
  message: [peer: DtlsPeer, data: Buffer];
  handshakeFailed: [failure: DtlsHandshakeFailure];
}

/** The PSK for an identity, from the store; null when there is none. */
export type PskLookup = (identity: string, peer: DtlsPeer) => Promise<Buffer | null>;

export interface DtlsServerOptions {
  readonly certChainPem: string;
  readonly keyPem: string;
  readonly lookupPsk: PskLookup;
  readonly limits?: Partial<DtlsLimits> | undefined;
  /**
   * A datagram whose handling threw (in this class or in a listener of its events): the
   * session it came on is ended and the error reported here, so one bad exchange can end at
   * most its own session, never the process.
   */
  readonly onError?: ((error: unknown) => void) | undefined;
  /**
   * A ClientHello dropped at a bound on half-open or established sessions: the DTLS side of a
   * reconnect storm's admission (fleetpki_device_admission_rejected_total). UDP has no refusal
   * to send; the device retransmits after its backoff (RFC 6347 §4.2.4).
   */
  readonly onAdmissionRefused?: (() => void) | undefined;
}

/** One DTLS session with one address and port. 'close' is emitted once when it ends. */
export class DtlsPeer extends EventEmitter {
  chain: Buffer[] = [];
  pskIdentity: string | null = null;
  cipher = '';
  established = false;
  closed = false;
  lastActivity = Date.now();
  /** PSK lookup state: undefined before the ClientKeyExchange, then pending, then done. */
  pskLookup: 'pending' | 'done' | undefined;
  pskKnown = false;
  held: Buffer[] = [];
  retransmit: NodeJS.Timeout | undefined;
  deadline: NodeJS.Timeout | undefined;

  constructor(
    readonly key: string,
    readonly address: string,
    readonly port: number,
    readonly handle: NativeHandle,
    private readonly server: DtlsServer,
  ) {
    super();
  }

  /** Encrypts one application datagram to the peer. */
  send(data: Buffer): void {
    this.server.sendTo(this, data);
  }

  /** Ends the session with a close_notify (RFC 5246 §7.2.1). */
  destroy(): void {
    this.server.end(this, true);
  }
}

/**
 * DTLS 1.2 server sessions over one UDP socket (node:dgram), OpenSSL doing the protocol through
 * the addon. The socket, every timer, cookies, limits and policy live here; no per-peer state
 * exists before a ClientHello returns a valid cookie (RFC 6347 §4.2.1), so spoofed ClientHellos
 * cost one HMAC and one HelloVerifyRequest each and nothing stays behind.
 */
export class DtlsServer extends EventEmitter<DtlsServerEvents> {
  private readonly native: NativeDtls = nativeDtls();
  private readonly context: NativeHandle;
  private listener: NativeHandle;
  private readonly cookies = new DtlsCookies();
  private readonly peers = new Map<string, DtlsPeer>();
  private readonly halfOpenByAddress = new Map<string, number>();
  private readonly sessionsByAddress = new Map<string, number>();
  private halfOpen = 0;
  private established = 0;
  private socket: Socket | undefined;
  private reaper: NodeJS.Timeout | undefined;
  readonly limits: DtlsLimits;
  /** Datagrams dropped at a bound, for logs and tests. */
  readonly dropped = { halfOpen: 0, sessions: 0, notClientHello: 0 };

  constructor(private readonly options: DtlsServerOptions) {
    super();
    this.limits = { ...DEFAULT_DTLS_LIMITS, ...options.limits };
    this.context = this.native.createContext(Buffer.from(options.certChainPem), Buffer.from(options.keyPem), GOLIOTH_CIPHER_LIST);
    this.listener = this.native.createSession(this.context);
  }

  async listen(port: number, host: string): Promise<{ address: string; port: number }> {
    const socket = createSocket({ type: isIPv6(host) ? 'udp6' : 'udp4' });
    this.socket = socket;
    socket.on('message', (datagram, remote) => {
      try {
        this.receive(datagram, remote);
      } catch (error) {
        const peer = this.peers.get(`${remote.address}|${remote.port}`);
        if (peer) this.end(peer, false);
        this.options.onError?.(error);
      }
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    socket.on('error', () => undefined); // ICMP unreachable and the like: UDP has no connection to fail
    this.reaper = setInterval(() => this.reapIdle(), Math.min(this.limits.idleTimeoutMs, 10_000));
    this.reaper.unref();
    const bound = socket.address();
    return { address: bound.address, port: bound.port };
  }

  /** The established session with this address and port, if any. */
  peerAt(address: string, port: number): DtlsPeer | undefined {
    const peer = this.peers.get(`${address}|${port}`);
    return peer?.established ? peer : undefined;
  }

  get sessionCount(): number {
    return this.established;
  }

  get halfOpenCount(): number {
    return this.halfOpen;
  }

  async close(): Promise<void> {
    if (this.reaper) clearInterval(this.reaper);
    for (const peer of [...this.peers.values()]) this.end(peer, true);
    this.native.free(this.listener);
    const socket = this.socket;
    this.socket = undefined;
    if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()));
  }

  private receive(datagram: Buffer, remote: RemoteInfo): void {
    const key = `${remote.address}|${remote.port}`;
    const peer = this.peers.get(key);
    const hello = isClientHello(datagram);
    // RFC 6347 §4.2.8: a ClientHello on an established association is a client that lost its
    // state (a reboot, a reused port). It goes through the stateless cookie exchange like any
    // other; the old association ends only once the cookie proves the address.
    if (peer && !(peer.established && hello)) {
      peer.lastActivity = Date.now();
      if (peer.pskLookup === 'pending') {
        if (peer.held.length < this.limits.maxHeldDatagrams) peer.held.push(datagram);
        return;
      }
      this.feed(peer, datagram);
      return;
    }
    // No state for this address: only a ClientHello (RFC 6347 §4.2.1) is worth a look.
    if (!hello) {
      this.dropped.notClientHello++;
      return;
    }
    const fromAddress = this.halfOpenByAddress.get(remote.address) ?? 0;
    if (this.halfOpen >= this.limits.maxHalfOpen || fromAddress >= this.limits.maxHalfOpenPerAddress) {
      this.dropped.halfOpen++;
      this.options.onAdmissionRefused?.();
      return;
    }
    if (this.established >= this.limits.maxSessions || (this.sessionsByAddress.get(remote.address) ?? 0) >= this.limits.maxSessionsPerAddress) {
      this.dropped.sessions++;
      this.options.onAdmissionRefused?.();
      return;
    }
    const result = this.native.listen(this.listener, datagram, this.cookies.for(remote.address, remote.port));
    if (result.state === 'listening') {
      // A HelloVerifyRequest (or nothing, for a malformed hello): still no state kept.
      this.transmit(remote.port, remote.address, result.out);
      return;
    }
    // The cookie proved the address: this listener object becomes the peer's session.
    if (peer) this.end(peer, false);
    const handle = this.listener;
    this.listener = this.native.createSession(this.context);
    const fresh = new DtlsPeer(key, remote.address, remote.port, handle, this);
    this.peers.set(key, fresh);
    this.halfOpen++;
    this.halfOpenByAddress.set(remote.address, fromAddress + 1);
    fresh.deadline = setTimeout(() => this.fail(fresh, { kind: 'deadline', reason: 0, reasonText: 'handshake deadline' }), this.limits.handshakeTimeoutMs);
    fresh.deadline.unref();
    this.after(fresh, result);
  }

  private feed(peer: DtlsPeer, datagram: Buffer): void {
    if (peer.closed) return;
    if (!peer.established && peer.pskLookup === undefined && this.native.pendingKeyExchange(peer.handle) === 'psk') {
      const identity = pskIdentityIn(datagram);
      if (identity !== undefined) {
        this.resolvePsk(peer, identity, datagram);
        return;
      }
    }
    this.after(peer, this.native.feed(peer.handle, datagram));
  }

  /** Looks the PSK up before OpenSSL asks for it, holding the peer's datagrams meanwhile. */
  private resolvePsk(peer: DtlsPeer, identity: string | null, datagram: Buffer): void {
    peer.pskLookup = 'pending';
    peer.pskIdentity = identity;
    peer.held.push(datagram);
    const lookup = identity === null ? Promise.resolve(null) : this.options.lookupPsk(identity, peer);
    lookup
      .catch(() => null)
      .then((key) => {
        if (peer.closed) return;
        peer.pskKnown = key !== null;
        // RFC 4279 §2 lets a server refuse an unknown identity with unknown_psk_identity or
        // carry on as if it were known and fail the key's proof. We carry on with a random key,
        // so an unknown identity fails exactly as a wrong key does and identities cannot be
        // enumerated; the audit still tells the two apart (pskKnown).
        this.native.setPsk(peer.handle, identity ?? '', key ?? randomBytes(32));
        peer.pskLookup = 'done';
        const held = peer.held;
        peer.held = [];
        for (const d of held) this.feed(peer, d);
      })
      .catch((error: unknown) => {
        this.end(peer, false);
        this.options.onError?.(error);
      });
  }

  private after(peer: DtlsPeer, result: NativeResult): void {
    this.transmit(peer.port, peer.address, result.out);
    if (result.state === 'failed') {
      this.fail(peer, { kind: 'openssl', reason: result.reason, reasonText: result.reasonText });
      return;
    }
    if (result.state === 'closed') {
      this.end(peer, false);
      return;
    }
    if (result.state === 'established' && !peer.established) this.establish(peer);
    else if (!peer.established) this.armRetransmit(peer);
    for (const data of result.data) {
      if (peer.closed) return;
      this.emit('message', peer, data);
    }
  }

  private establish(peer: DtlsPeer): void {
    peer.established = true;
    if (peer.retransmit) clearTimeout(peer.retransmit);
    if (peer.deadline) clearTimeout(peer.deadline);
    this.leaveHalfOpen(peer);
    this.established++;
    this.sessionsByAddress.set(peer.address, (this.sessionsByAddress.get(peer.address) ?? 0) + 1);
    const info = this.native.info(peer.handle);
    peer.cipher = info.cipher;
    peer.pskIdentity = info.pskIdentity;
    peer.chain = info.pskIdentity === null ? this.native.peerChain(peer.handle) : [];
    this.emit('session', peer);
  }

  /** RFC 6347 §4.2.4: OpenSSL doubles the timer per retransmission; we only run it. */
  private armRetransmit(peer: DtlsPeer): void {
    if (peer.retransmit) clearTimeout(peer.retransmit);
    const ms = this.native.timeout(peer.handle);
    if (ms < 0) return;
    peer.retransmit = setTimeout(() => {
      if (peer.closed || peer.established) return;
      this.after(peer, this.native.handleTimeout(peer.handle));
    }, Math.max(1, Math.ceil(ms)));
    peer.retransmit.unref();
  }

  private fail(peer: DtlsPeer, why: { kind: 'deadline' | 'openssl'; reason: number; reasonText: string }): void {
    if (peer.closed) return;
    const chain = this.native.peerChain(peer.handle);
    this.end(peer, false);
    this.emit('handshakeFailed', { peer, ...why, chain, pskIdentity: peer.pskIdentity, pskKnown: peer.pskKnown });
  }

  sendTo(peer: DtlsPeer, data: Buffer): void {
    if (peer.closed || !peer.established) return;
    const result = this.native.write(peer.handle, data);
    this.transmit(peer.port, peer.address, result.out);
  }

  end(peer: DtlsPeer, notify: boolean): void {
    if (peer.closed) return;
    peer.closed = true;
    if (peer.retransmit) clearTimeout(peer.retransmit);
    if (peer.deadline) clearTimeout(peer.deadline);
    if (notify && peer.established) this.transmit(peer.port, peer.address, this.native.shutdown(peer.handle).out);
    this.native.free(peer.handle);
    this.peers.delete(peer.key);
    if (peer.established) {
      this.established--;
      const left = (this.sessionsByAddress.get(peer.address) ?? 1) - 1;
      if (left > 0) this.sessionsByAddress.set(peer.address, left);
      else this.sessionsByAddress.delete(peer.address);
    } else {
      this.leaveHalfOpen(peer);
    }
    peer.held = [];
    peer.emit('close');
  }

  private leaveHalfOpen(peer: DtlsPeer): void {
    this.halfOpen--;
    const left = (this.halfOpenByAddress.get(peer.address) ?? 1) - 1;
    if (left > 0) this.halfOpenByAddress.set(peer.address, left);
    else this.halfOpenByAddress.delete(peer.address);
  }

  private reapIdle(): void {
    const cutoff = Date.now() - this.limits.idleTimeoutMs;
    for (const peer of [...this.peers.values()]) {
      if (peer.established && peer.lastActivity < cutoff) this.end(peer, true);
    }
  }

  private transmit(port: number, address: string, datagrams: readonly Buffer[]): void {
    const socket = this.socket;
    if (!socket) return;
    for (const datagram of datagrams) socket.send(datagram, port, address);
  }
}
