// Load generator for bench/coap.mjs, run as its own process so that client work is not charged
// to the server under test:
//   handshakes coaps://HOST:PORT CERT KEY CONCURRENCY MS -> prints {"completed":N,"failed":F,"ms":T}
// Each handshake is a fresh DTLS 1.2 session from a fresh UDP port (no resumption): the full
// handshake with the device certificate, one CoAP GET /v1/device/identity, close_notify. OpenSSL
// does the client side through fleetpki's own DTLS addon (client role), so the client costs the
// same OpenSSL work as the HTTPS load generator's node:tls client.
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { nativeDtls } from '../packages/server/dist/src/gateway/native-dtls.js';

const [mode, url, certFile, keyFile, a, b] = process.argv.slice(2);
if (mode !== 'handshakes') throw new Error(`unknown mode ${mode}`);
const target = new URL(url.replace(/^coaps:/, 'https:'));
const native = nativeDtls();
const context = native.createContext(readFileSync(certFile), readFileSync(keyFile), 'ECDHE-ECDSA-AES128-CCM8', true);
/** CoAP CON GET with Uri-Path v1/device/identity (RFC 7252 §3, §5.10.1). */
const request = (id) => Buffer.concat([Buffer.from([0x40, 0x01, id >> 8, id & 0xff, 0xb2]), Buffer.from('v1'), Buffer.from([0x06]), Buffer.from('device'), Buffer.from([0x08]), Buffer.from('identity')]);
const HANDSHAKE_LIMIT_MS = 10_000;
let messageId = Math.floor(Math.random() * 0xffff);

function once() {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    const session = native.createSession(context);
    let done = false;
    let asked = false;
    let timer;
    const send = (out) => {
      for (const d of out) socket.send(d, Number(target.port), target.hostname);
    };
    const finish = (ok) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearTimeout(deadline);
      const bye = ok ? native.shutdown(session).out : [];
      native.free(session);
      // close_notify (RFC 5246 §7.2.1) so the server ends the session now; the socket closes once it is sent.
      if (bye.length > 0) socket.send(bye[0], Number(target.port), target.hostname, () => socket.close());
      else socket.close();
      resolve(ok);
    };
    const handle = (result) => {
      if (done) return;
      send(result.out);
      if (result.state === 'failed' || result.state === 'closed') return finish(false);
      if (result.state === 'established' && !asked) {
        asked = true;
        messageId = (messageId + 1) & 0xffff;
        send(native.write(session, request(messageId)).out);
      }
      for (const data of result.data) {
        if (data[1] === 0x45) return finish(true); // 2.05 Content
        if (data[1] !== 0x00) return finish(false); // an empty ACK is followed by the response
      }
      clearTimeout(timer);
      const ms = native.timeout(session);
      if (ms >= 0) timer = setTimeout(() => handle(native.handleTimeout(session)), Math.max(1, Math.ceil(ms)));
    };
    const deadline = setTimeout(() => finish(false), HANDSHAKE_LIMIT_MS);
    socket.on('message', (datagram) => handle(native.feed(session, datagram)));
    socket.on('error', () => finish(false));
    socket.bind(0, '127.0.0.1', () => handle(native.connect(session)));
  });
}

const concurrency = Number(a);
const ms = Number(b);
let completed = 0;
let failed = 0;
const start = performance.now();
const end = start + ms;
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      if (await once()) completed++;
      else failed++;
    }
  }),
);
process.stdout.write(`${JSON.stringify({ completed, failed, ms: performance.now() - start })}\n`);
