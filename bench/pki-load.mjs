// Load generator for bench/pki.mjs, its own process so that client work is not charged to the
// server under test. The same generator drives fleetpki and cfssl:
//   URL BODIES_FILE HEADERS_JSON CONCURRENCY MS  -> prints {"completed":N,"failed":F,"ms":T,"firstError":…}
// BODIES_FILE is a JSON array of request bodies (one per CSR), sent round-robin as POSTs over
// CONCURRENCY keep-alive connections until MS have passed.
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';

const [url, bodiesFile, headersJson, concurrencyArg, msArg] = process.argv.slice(2);
const target = new URL(url);
const bodies = JSON.parse(readFileSync(bodiesFile, 'utf8')).map((b) => Buffer.from(b));
const headers = { 'content-type': 'application/json', ...JSON.parse(headersJson) };
const concurrency = Number(concurrencyArg);
const agent = new Agent({ keepAlive: true, maxSockets: concurrency });

let next = 0;
let firstError;
function once() {
  const body = bodies[next++ % bodies.length];
  return new Promise((resolve) => {
    const req = request({ host: target.hostname, port: target.port, path: target.pathname, method: 'POST', agent, headers: { ...headers, 'content-length': body.length } }, (res) => {
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

let completed = 0;
let failed = 0;
const start = performance.now();
const deadline = start + Number(msArg);
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (performance.now() < deadline) {
      if (await once()) completed++;
      else failed++;
    }
  }),
);
process.stdout.write(JSON.stringify({ completed, failed, ms: performance.now() - start, firstError }) + '\n');
agent.destroy();
