import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls, type TLSSocket } from 'node:tls';

/** What came back from a raw exchange, and whether the server closed the connection. */
export interface RawAnswer {
  readonly bytes: Buffer;
  readonly closed: boolean;
  /** The HTTP status of the first response line, when there is one. */
  readonly status: number | undefined;
  /** The problem document's `code`, when the body is one. */
  readonly code: string | undefined;
}

export interface RawTarget {
  readonly port: number;
  /** TLS with this client certificate and key (the device gateway, MQTT); plain TCP without. */
  readonly tls?: { readonly ca: string; readonly cert?: string; readonly key?: string } | undefined;
}

/**
 * Writes bytes a real client would not send (a request line of 0x80 bytes, a remaining length
 * of 256 MiB …) and reads what comes back until the server closes or `ms` pass. Bounded in time;
 * loopback only.
 */
export async function rawExchange(target: RawTarget, writes: readonly Buffer[], ms = 2_000, endAfterWrites = false): Promise<RawAnswer> {
  const socket: Socket | TLSSocket = target.tls
    ? connectTls({ host: '127.0.0.1', port: target.port, servername: 'localhost', ca: target.tls.ca, cert: target.tls.cert, key: target.tls.key })
    : connectTcp({ host: '127.0.0.1', port: target.port });
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.on('error', () => undefined);
  const closed = new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
  await new Promise<void>((resolve) => socket.once(target.tls ? 'secureConnect' : 'connect', () => resolve()));
  for (const write of writes) {
    if (socket.destroyed) break;
    await new Promise<void>((resolve) => socket.write(write, () => resolve()));
  }
  if (endAfterWrites) socket.end();
  const wasClosed = await closed;
  socket.destroy();
  const bytes = Buffer.concat(chunks);
  const text = bytes.toString('latin1');
  const status = /^HTTP\/1\.1 (\d{3})/.exec(text)?.[1];
  const code = /"code":"([A-Z0-9_]+)"/.exec(text)?.[1];
  return { bytes, closed: wasClosed, status: status === undefined ? undefined : Number(status), code };
}
