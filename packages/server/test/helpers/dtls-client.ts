import { createSocket, type Socket } from 'node:dgram';
import { nativeDtls, type NativeHandle, type NativeResult } from '../../src/gateway/native-dtls.js';

/**
 * A DTLS 1.2 client in this process (the addon's client role), stepped by hand so tests can stop
 * a handshake half-way, or start a new one from the same UDP port.
 */
export class TestDtlsClient {
  private readonly native = nativeDtls();
  private readonly context: NativeHandle;
  private session: NativeHandle | undefined;
  private socket: Socket | undefined;
  private waiting: ((result: NativeResult) => void) | undefined;
  /** Set false to stop answering the server (a half-open handshake). */
  answering = true;
  state = 'idle';

  constructor(
    certPem: string,
    keyPem: string,
    private readonly port: number,
  ) {
    this.context = this.native.createContext(Buffer.from(certPem), Buffer.from(keyPem), 'ECDHE-ECDSA-AES128-GCM-SHA256', true);
  }

  /** A client bound to a port of its own, added to `opened` so that the caller closes it with the rest. */
  static async opened(certPem: string, keyPem: string, port: number, opened: TestDtlsClient[]): Promise<TestDtlsClient> {
    const client = new TestDtlsClient(certPem, keyPem, port);
    opened.push(client);
    await client.bind();
    return client;
  }

  async bind(): Promise<number> {
    const socket = createSocket('udp4');
    this.socket = socket;
    socket.on('message', (datagram) => {
      if (!this.session || !this.answering) return;
      const result = this.native.feed(this.session, datagram);
      this.apply(result);
    });
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
    return socket.address().port;
  }

  /** Application data the server sent in the session, for whoever listens. */
  onData: ((data: Buffer) => void) | undefined;

  private apply(result: NativeResult): void {
    for (const d of result.out) this.socket?.send(d, this.port, '127.0.0.1');
    this.state = result.state;
    for (const data of result.data) this.onData?.(data);
    if (result.state !== 'handshaking') this.waiting?.(result);
  }

  /** Encrypts one application datagram into the established session. */
  write(data: Buffer): void {
    if (!this.session) throw new Error('no session');
    this.apply(this.native.write(this.session, data));
  }

  /** Starts a fresh handshake from the bound port; resolves when it ends or after `ms`. */
  handshake(ms = 5_000): Promise<string> {
    if (this.session) this.native.free(this.session);
    this.session = this.native.createSession(this.context);
    this.answering = true;
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(this.state), ms);
      this.waiting = () => {
        clearTimeout(timer);
        resolve(this.state);
      };
      this.apply(this.native.connect(this.session as NativeHandle));
    });
  }

  /** Waits until the server has answered the cookie exchange, then stops answering. */
  async stallAfterCookie(): Promise<void> {
    if (this.session) this.native.free(this.session);
    this.session = this.native.createSession(this.context);
    let datagrams = 0;
    const socket = this.socket as Socket;
    const onMessage = () => {
      datagrams++;
      // The HelloVerifyRequest is answered (the cookie hello goes out); after that, silence.
      if (datagrams >= 2) this.answering = false;
    };
    socket.prependListener('message', onMessage);
    this.apply(this.native.connect(this.session));
    await new Promise((r) => setTimeout(r, 300));
    socket.off('message', onMessage);
  }

  /** Ends the session with a close_notify when it is established (so the server lets go of it at once), then the socket. */
  close(): void {
    const socket = this.socket;
    const goodbye = this.session && this.state === 'established' ? this.native.shutdown(this.session).out : [];
    if (this.session) this.native.free(this.session);
    this.session = undefined;
    this.socket = undefined;
    if (!socket) return;
    if (goodbye.length === 0) {
      socket.close();
      return;
    }
    let left = goodbye.length;
    for (const datagram of goodbye) socket.send(datagram, this.port, '127.0.0.1', () => --left === 0 && socket.close());
  }
}
