// Load generator for bench/gateway.mjs, run as its own process so that client work is not
// charged to the server under test. Three modes:
//   handshakes URL CERT KEY CA CONCURRENCY MS  -> prints {"completed":N,"ms":T,"failed":F}
//     each request is a fresh TLS connection (agent: false, no session reuse): full handshake,
//     client certificate, one GET, close.
//   hold URL CERT KEY CA COUNT                 -> opens COUNT keep-alive connections, one GET on
//     each, prints {"open":N} once all answered, then holds them until stdin closes.
//   fresh URL POOL CA CONCURRENCY MS START COUNT -> as handshakes, but each connection presents the
//     next certificate of POOL (JSON lines [certPem, keyPem]) from START, each at most once; stops
//     early when the COUNT certificates are used up (prints "exhausted": true).
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { connect } from 'node:tls';

const [mode, url, certFile, keyFile, caFile, a, b, c] = process.argv.slice(2);
const target = new URL(url);
const tls = mode === 'fresh' ? { ca: readFileSync(keyFile), servername: 'localhost' } : { cert: readFileSync(certFile), key: readFileSync(keyFile), ca: readFileSync(caFile), servername: 'localhost' };

function once(credentials = {}) {
  return new Promise((resolve) => {
    const req = request({ host: target.hostname, port: target.port, path: '/v1/device/identity', agent: false, ...tls, ...credentials }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200));
    });
    req.on('error', () => resolve(false));
    req.end();
  });
}

if (mode === 'handshakes') {
  const concurrency = Number(a);
  const ms = Number(b);
  let completed = 0;
  let failed = 0;
  const start = performance.now();
  const deadline = start + ms;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        if (await once()) completed++;
        else failed++;
      }
    }),
  );
  process.stdout.write(`${JSON.stringify({ completed, failed, ms: performance.now() - start })}\n`);
} else if (mode === 'fresh') {
  // fresh URL POOL CA CONCURRENCY MS START COUNT: the positions of CERT KEY CA A B C.
  const [poolFile, concurrency, ms, start, count] = [certFile, Number(caFile), Number(a), Number(b), Number(c)];
  const pool = readFileSync(poolFile, 'utf8').trim().split('\n');
  let next = start;
  const end = Math.min(start + count, pool.length);
  let completed = 0;
  let failed = 0;
  const began = performance.now();
  const deadline = began + ms;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline && next < end) {
        const [cert, key] = JSON.parse(pool[next++]);
        if (await once({ cert, key })) completed++;
        else failed++;
      }
    }),
  );
  process.stdout.write(`${JSON.stringify({ completed, failed, ms: performance.now() - began, exhausted: next >= end })}\n`);
} else if (mode === 'hold') {
  const count = Number(a);
  const sockets = [];
  const BATCH = 50;
  let open = 0;
  for (let i = 0; i < count; i += BATCH) {
    await Promise.all(
      Array.from({ length: Math.min(BATCH, count - i) }, () => new Promise((resolve) => {
        const socket = connect({ host: target.hostname, port: Number(target.port), ...tls });
        socket.on('error', () => resolve());
        socket.once('secureConnect', () => socket.write('GET /v1/device/identity HTTP/1.1\r\nhost: localhost\r\nconnection: keep-alive\r\n\r\n'));
        socket.once('data', () => {
          open++;
          resolve();
        });
        sockets.push(socket);
      })),
    );
  }
  process.stdout.write(`${JSON.stringify({ open })}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
} else {
  process.stderr.write('usage: gateway-load.mjs handshakes|fresh|hold ...\n');
  process.exit(2);
}
