// Load generator for bench/integration.mjs, run as its own process so that client work is not
// charged to the servers under test. Two modes, both printing {"completed":N,"failed":F,"ms":T}:
//   handshakes URL PATH CERT KEY CA CONCURRENCY MS [METHOD BODY CONTENT-TYPE]
//     each request a fresh TLS connection (agent: false, no session reuse): a full handshake with
//     the client certificate, one request (GET unless told), close — a device that connects,
//     asks and goes.
//   requests URL PATH METHOD CERT KEY CA CONCURRENCY MS [BODY CONTENT-TYPE]
//     CONCURRENCY kept-alive connections, each sending PATH again as soon as it is answered — a
//     device that holds its connection (the handshake is paid once, before the clock starts).
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';

const [mode, url, path, ...rest] = process.argv.slice(2);
const target = new URL(url);

function send(options, body) {
  return new Promise((resolve) => {
    const req = request({ host: target.hostname, port: target.port, path, servername: 'localhost', ...options }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200));
    });
    req.on('error', () => resolve(false));
    req.end(body);
  });
}

async function run(concurrency, ms, once) {
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
}

if (mode === 'handshakes') {
  const [certFile, keyFile, caFile, concurrency, ms, method = 'GET', body, contentType] = rest;
  const headers = body === undefined ? {} : { 'content-type': contentType, 'content-length': Buffer.byteLength(body) };
  const tls = { cert: readFileSync(certFile), key: readFileSync(keyFile), ca: readFileSync(caFile), agent: false, method, headers };
  await run(Number(concurrency), Number(ms), () => send(tls, body));
} else if (mode === 'requests') {
  const [method, certFile, keyFile, caFile, concurrency, ms, body, contentType] = rest;
  const agent = new Agent({ keepAlive: true, maxSockets: Number(concurrency), cert: readFileSync(certFile), key: readFileSync(keyFile), ca: readFileSync(caFile) });
  const headers = body === undefined ? {} : { 'content-type': contentType, 'content-length': Buffer.byteLength(body) };
  const once = () => send({ method, agent, headers }, body);
  // Every connection opened (and its handshake done) before the clock starts.
  await Promise.all(Array.from({ length: Number(concurrency) }, once));
  await run(Number(concurrency), Number(ms), once);
  agent.destroy();
} else {
  process.stderr.write('usage: integration-load.mjs handshakes|requests URL PATH …\n');
  process.exit(2);
}
