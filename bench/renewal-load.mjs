// Load generator for bench/renewal.mjs, its own process so that client work is not charged to
// the server under test. Two modes, both keep-alive POSTs of pre-made CSRs until MS have passed:
//   rotate URL POOL CA CONCURRENCY MS -> each of CONCURRENCY connections is a device of POOL
//     (JSON lines [certPem, keyPem, csrDerBase64…]) on its own mutual-TLS keep-alive connection,
//     posting its DER CSRs to /v1/csr (Golioth's rotation) round-robin;
//   issue URL BODIES API_KEY CONCURRENCY MS -> JSON bodies ({csr}) to POST …/pki/issue with the key.
// Prints {"completed":N,"failed":F,"ms":T,"firstError":…}.
import { readFileSync } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

const [mode, url, poolFile, third, concurrencyArg, msArg] = process.argv.slice(2);
const target = new URL(url);
const concurrency = Number(concurrencyArg);
let firstError;

function post(send, options, body) {
  return new Promise((resolve) => {
    const req = send({ ...options, method: 'POST', headers: { ...options.headers, 'content-length': body.length } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const ok = res.statusCode >= 200 && res.statusCode < 300;
        if (!ok) firstError ??= `${res.statusCode} ${Buffer.concat(chunks).toString('utf8').slice(0, 300)}`;
        resolve(ok);
      });
    });
    req.on('error', (error) => {
      firstError ??= error.message;
      resolve(false);
    });
    req.end(body);
  });
}

/** One worker per connection: `next()` gives its request, `send` sends it. */
let workers;
if (mode === 'rotate') {
  const ca = readFileSync(third);
  const devices = readFileSync(poolFile, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
  workers = Array.from({ length: concurrency }, (_, i) => {
    const [cert, key, ...csrs] = devices[i % devices.length];
    const agent = new HttpsAgent({ keepAlive: true, maxSockets: 1, cert, key, ca, servername: 'localhost' });
    const bodies = csrs.map((b64) => Buffer.from(b64, 'base64'));
    let n = 0;
    return () => post(httpsRequest, { host: target.hostname, port: target.port, path: '/v1/csr', agent, headers: { 'content-type': 'application/pkcs10' } }, bodies[n++ % bodies.length]);
  });
} else if (mode === 'issue') {
  const bodies = JSON.parse(readFileSync(poolFile, 'utf8')).map((b) => Buffer.from(b));
  const agent = new HttpAgent({ keepAlive: true, maxSockets: concurrency });
  let n = 0;
  workers = Array.from({ length: concurrency }, () => () =>
    post(httpRequest, { host: target.hostname, port: target.port, path: target.pathname, agent, headers: { 'content-type': 'application/json', 'x-api-key': third } }, bodies[n++ % bodies.length]),
  );
} else {
  process.stderr.write('usage: renewal-load.mjs rotate|issue ...\n');
  process.exit(2);
}

let completed = 0;
let failed = 0;
const start = performance.now();
const deadline = start + Number(msArg);
await Promise.all(
  workers.map(async (send) => {
    while (performance.now() < deadline) {
      if (await send()) completed++;
      else failed++;
    }
  }),
);
process.stdout.write(JSON.stringify({ completed, failed, ms: performance.now() - start, firstError }) + '\n');
process.exit(0);
