import { spawn } from 'node:child_process';

/**
 * A DTLS 1.2 ClientHello with no cookie (RFC 6347 §4.2.1): version, random, empty session ID and
 * cookie, one Golioth suite, null compression, the extensions ECDHE-ECDSA needs. Enough for the server to answer a
 * HelloVerifyRequest, which is all a spoofing flooder ever gets.
 */
export const CLIENT_HELLO_SOURCE = `
// supported_groups: secp256r1; ec_point_formats: uncompressed; signature_algorithms: ecdsa_secp256r1_sha256
const EXTENSIONS = Buffer.from([0, 22, 0, 10, 0, 4, 0, 2, 0, 23, 0, 11, 0, 2, 1, 0, 0, 13, 0, 4, 0, 2, 4, 3]);
function clientHello(random, cookie = Buffer.alloc(0)) {
  const body = Buffer.concat([Buffer.from([0xfe, 0xfd]), random, Buffer.from([0, cookie.length]), cookie, Buffer.from([0, 2, 0xc0, 0xac, 1, 0]), EXTENSIONS]);
  const handshake = Buffer.alloc(12);
  handshake[0] = 1;
  handshake.writeUIntBE(body.length, 1, 3);
  handshake.writeUIntBE(body.length, 9, 3);
  const fragment = Buffer.concat([handshake, body]);
  const record = Buffer.alloc(13);
  record[0] = 22;
  record[1] = 0xfe;
  record[2] = 0xfd;
  record.writeUInt16BE(fragment.length, 11);
  return Buffer.concat([record, fragment]);
}
`;

/** The same ClientHello in this process; with `cookie`, the second ClientHello of RFC 6347 §4.2.1 (message_seq 1). */
export function clientHello(random: Buffer, cookie?: Buffer): Buffer {
  const hello = new Function('Buffer', `${CLIENT_HELLO_SOURCE}; return clientHello;`)(Buffer)(random, cookie) as Buffer;
  if (cookie) hello.writeUInt16BE(1, 13 + 4);
  return hello;
}

export interface FloodResult {
  readonly sent: number;
  /** HelloVerifyRequests that came back: the server answered statelessly. */
  readonly helloVerifyRequests: number;
  readonly ms: number;
}

/**
 * From one child process, `count` ClientHellos at 127.0.0.1:`port` from `sockets` source ports,
 * never answering a HelloVerifyRequest (what a sender with spoofed addresses can do). Stops at
 * `count` or after `maxMs`, whichever comes first; the child is killed at `maxMs` + 5 s.
 */
export function floodClientHellos(port: number, count: number, sockets: number, maxMs: number): Promise<FloodResult> {
  const source = `
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
${CLIENT_HELLO_SOURCE}
const [port, count, socketCount, maxMs] = process.argv.slice(1).map(Number);
const start = performance.now();
let sent = 0, hvr = 0;
const sockets = await Promise.all(Array.from({ length: socketCount }, () => new Promise((resolve) => {
  const s = createSocket('udp4');
  s.on('message', (m) => { if (m[0] === 22 && m[13] === 3) hvr++; });
  s.on('error', () => {});
  s.bind(0, '127.0.0.1', () => resolve(s));
})));
while (sent < count && performance.now() - start < maxMs) {
  const batch = [];
  for (let i = 0; i < 200 && sent < count; i++, sent++) {
    const s = sockets[sent % sockets.length];
    batch.push(new Promise((resolve) => s.send(clientHello(randomBytes(32)), port, '127.0.0.1', () => resolve())));
  }
  await Promise.all(batch);
}
await new Promise((r) => setTimeout(r, 300));
for (const s of sockets) s.close();
process.stdout.write(JSON.stringify({ sent, helloVerifyRequests: hvr, ms: performance.now() - start }) + '\\n');
`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', source, String(port), String(count), String(sockets), String(maxMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  const killer = setTimeout(() => child.kill('SIGKILL'), maxMs + 5_000);
  return new Promise((resolve, reject) =>
    child.once('close', () => {
      clearTimeout(killer);
      try {
        resolve(JSON.parse(out) as FloodResult);
      } catch {
        reject(new Error(`the flooder printed no result: ${out}`));
      }
    }),
  );
}
