import { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';

/**
 * The largest MQTT packet a device may send. MQTT allows 256 MiB (a 4-byte remaining length,
 * 3.1.1 §2.2.3); the broker's parser buffers a packet whole before it sees it, so without a
 * bound any peer with a TLS session — before its CONNECT is even judged — could make the
 * server hold 256 MiB per connection. Device telemetry is far smaller.
 */
export const MAX_MQTT_PACKET_BYTES = 256 * 1024;
/** The first packet must be CONNECT (3.1.1 §3.1), and a CONNECT of ours is a few hundred bytes. */
export const MAX_MQTT_CONNECT_BYTES = 4 * 1024;

/** MQTT control packet type 1 (3.1.1 §2.2.1). */
const CONNECT = 1;
/** A remaining length is at most four bytes (3.1.1 §2.2.3). */
const MAX_LENGTH_BYTES = 4;

/** Why a connection was cut, for the log. */
export type MqttBoundViolation = 'first packet is not CONNECT' | 'CONNECT too large' | 'packet too large' | 'malformed remaining length';

/**
 * Follows the MQTT framing of the bytes a peer sends — fixed header, remaining length, body —
 * without buffering any of it, and says when a packet would pass its bound. It reads only the
 * fixed header of each packet; the broker parses the packets themselves.
 */
export class MqttFraming {
  private state: 'type' | 'length' | 'body' = 'type';
  private first = true;
  private packetType = 0;
  private length = 0;
  private lengthBytes = 0;
  private multiplier = 1;
  private bodyLeft = 0;

  /** Feeds bytes in; returns the violation they make, or undefined while the stream is within bounds. */
  feed(chunk: Buffer): MqttBoundViolation | undefined {
    let at = 0;
    while (at < chunk.length) {
      if (this.state === 'body') {
        const take = Math.min(this.bodyLeft, chunk.length - at);
        this.bodyLeft -= take;
        at += take;
        if (this.bodyLeft === 0) this.state = 'type';
        continue;
      }
      const byte = chunk[at++] as number;
      if (this.state === 'type') {
        this.packetType = byte >> 4;
        if (this.first && this.packetType !== CONNECT) return 'first packet is not CONNECT';
        this.state = 'length';
        this.length = 0;
        this.lengthBytes = 0;
        this.multiplier = 1;
        continue;
      }
      this.length += (byte & 0x7f) * this.multiplier;
      this.multiplier *= 128;
      this.lengthBytes++;
      if ((byte & 0x80) !== 0) {
        if (this.lengthBytes === MAX_LENGTH_BYTES) return 'malformed remaining length';
        continue;
      }
      if (this.first && this.length > MAX_MQTT_CONNECT_BYTES) return 'CONNECT too large';
      if (this.length > MAX_MQTT_PACKET_BYTES) return 'packet too large';
      this.first = false;
      this.bodyLeft = this.length;
      this.state = this.length === 0 ? 'type' : 'body';
    }
    return undefined;
  }
}

/**
 * The TLS socket as the broker sees it, with MqttFraming on every byte read: a peer that passes
 * a bound is cut before the broker buffers the packet. Writes, ends and errors go straight to the
 * socket; the socket's 'close' closes this stream.
 */
export class BoundedMqttConnection extends Duplex {
  private readonly framing = new MqttFraming();

  constructor(
    readonly socket: TLSSocket,
    onViolation: (why: MqttBoundViolation) => void,
  ) {
    super({ allowHalfOpen: false });
    // The broker listens for errors while it holds the connection; this one stays after it lets go.
    this.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      const violation = this.framing.feed(chunk);
      if (violation) {
        onViolation(violation);
        socket.destroy();
        return;
      }
      if (!this.push(chunk)) socket.pause();
    });
    socket.on('end', () => this.push(null));
    socket.on('error', (error) => this.destroy(error));
    socket.on('close', () => this.destroy());
  }

  get remoteAddress(): string | undefined {
    return this.socket.remoteAddress;
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.socket.destroyed) return callback();
    this.socket.write(chunk, callback);
  }

  /** The broker corks while it writes a packet in pieces: they go out as one TLS write (one record), as on a bare socket. */
  override _writev(chunks: { chunk: Buffer }[], callback: (error?: Error | null) => void): void {
    if (this.socket.destroyed) return callback();
    this.socket.write(Buffer.concat(chunks.map((c) => c.chunk)), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.socket.end(callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.socket.destroy();
    callback(error);
  }
}
