/**
 * The MQTT fuzzer's client, in a process of its own so the server's memory is measured without
 * the client's: `node mqtt-fuzz-client.js PORT CA CERT KEY ITERATIONS MS SEED` connects as the
 * certificate's device, sends mutated packets after CONNECT, reconnects whenever the broker cuts
 * a session (and every PACKETS_PER_SESSION packets), and prints `{"sent":N,"sessions":S,"ms":T}`.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect, type TLSSocket } from 'node:tls';
import { connectPacket } from './mqtt-clients.js';
import { seededRandom } from './seeded-random.js';

const PACKETS_PER_SESSION = 100;

const str = (text: string): Buffer => {
  const bytes = Buffer.from(text, 'utf8');
  return Buffer.concat([Buffer.from([bytes.length >> 8, bytes.length & 0xff]), bytes]);
};
const packet = (first: number, body: Buffer): Buffer => Buffer.concat([Buffer.from([first, body.length]), body]);

/** Valid packets of device fuzz-1 (each body under 128 bytes, so one length byte). */
export const CORPUS: Buffer[] = [
  packet(0x30, Buffer.concat([str('acme/fuzz-1/telemetry'), Buffer.from('{"t":21.5}')])),
  packet(0x32, Buffer.concat([str('acme/fuzz-1/telemetry'), Buffer.from([0x00, 0x07]), Buffer.from('qos1')])),
  packet(0x82, Buffer.concat([Buffer.from([0x00, 0x02]), str('acme/fuzz-1/#'), Buffer.from([0x01])])),
  packet(0xa2, Buffer.concat([Buffer.from([0x00, 0x03]), str('acme/fuzz-1/#')])),
  Buffer.from([0xc0, 0x00]),
  packet(0x30, Buffer.concat([str('acme/other/x'), Buffer.from('no')])),
];

export function mutate(input: Buffer, random: () => number): Buffer {
  const out = Buffer.from(input);
  const at = Math.floor(random() * Math.max(1, out.length));
  switch (Math.floor(random() * 6)) {
    case 0:
      for (let i = 0; i < 1 + random() * 4 && out.length > 0; i++) {
        const j = Math.floor(random() * out.length);
        out[j] = (out[j] as number) ^ (1 << Math.floor(random() * 8));
      }
      return out;
    case 1:
      return out.subarray(0, at);
    case 2: // the remaining length set to anything (up to four bytes)
      return Buffer.concat([out.subarray(0, 1), randomBytes(1 + Math.floor(random() * 4)), out.subarray(2)]);
    case 3: // a topic of multi-byte characters
      return packet(0x30, Buffer.concat([str(`acme/fuzz-1/${'\u4e00'.repeat(Math.floor(random() * 20))}`), randomBytes(4)]));
    case 4:
      return Buffer.concat([out, out.subarray(at)]);
    default:
      return Buffer.concat([Buffer.from([Math.floor(random() * 256)]), randomBytes(Math.floor(random() * 100))]);
  }
}


async function session(port: number, ca: string, cert: string, key: string, clientId: string): Promise<{ socket: TLSSocket; closed: () => boolean }> {
  const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', ca, cert, key });
  let closed = false;
  socket.on('error', () => undefined);
  socket.on('close', () => (closed = true));
  await new Promise<void>((resolve) => {
    socket.once('secureConnect', () => socket.write(connectPacket(clientId)));
    socket.once('data', () => resolve());
    socket.once('close', () => resolve());
  });
  return { socket, closed: () => closed };
}

const [port, caFile, certFile, keyFile, iterations, maxMs, seed] = process.argv.slice(2);
if (seed !== undefined) {
  const [ca, cert, key] = [caFile, certFile, keyFile].map((f) => readFileSync(f as string, 'utf8')) as [string, string, string];
  const random = seededRandom(Number(seed));
  const started = Date.now();
  let sent = 0;
  let sessions = 1;
  let current = await session(Number(port), ca, cert, key, 'fuzz-1');
  while (sent < Number(iterations) && Date.now() - started < Number(maxMs)) {
    // A fresh session now and then: a mutated length can leave the broker waiting for a body that never comes.
    if (current.closed() || sent % PACKETS_PER_SESSION === 0) {
      if (!current.closed()) current.socket.destroy();
      current = await session(Number(port), ca, cert, key, 'fuzz-1');
      sessions++;
    }
    current.socket.write(mutate(CORPUS[Math.floor(random() * CORPUS.length)] as Buffer, random));
    sent++;
    if (sent % 20 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
  }
  current.socket.destroy();
  process.stdout.write(JSON.stringify({ sent, sessions, ms: Date.now() - started }));
}
