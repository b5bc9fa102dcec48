// Load generator for bench/revocation.mjs's OCSP part, in its own process: POSTs one DER OCSP
// request over fresh connections (as `openssl ocsp` does), or over kept-alive ones (as a
// relying party that asks often may), CONCURRENCY at a time, for MS.
//   ocsp-load.mjs URL REQUEST_FILE CONCURRENCY MS [keep-alive] -> prints {"completed":N,"failed":F,"ms":T}
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';

const [url, requestFile, concurrency, ms, reuse] = process.argv.slice(2);
const agent = reuse === 'keep-alive' ? new Agent({ keepAlive: true, maxSockets: Number(concurrency) }) : false;
const target = new URL(url);
const body = readFileSync(requestFile);

function once() {
  return new Promise((resolve) => {
    const req = request(
      { host: target.hostname, port: target.port, path: target.pathname, method: 'POST', agent, headers: { 'content-type': 'application/ocsp-request', 'content-length': body.length } },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        // A successful OCSPResponse starts 30 .. 0a 01 00 (responseStatus successful).
        res.on('end', () => {
          const der = Buffer.concat(chunks);
          resolve(res.statusCode === 200 && der.length > 10 && der.includes(Buffer.from([0x0a, 0x01, 0x00])));
        });
      },
    );
    req.on('error', () => resolve(false));
    req.end(body);
  });
}

let completed = 0;
let failed = 0;
const start = performance.now();
const deadline = start + Number(ms);
await Promise.all(
  Array.from({ length: Number(concurrency) }, async () => {
    while (performance.now() < deadline) {
      if (await once()) completed++;
      else failed++;
    }
  }),
);
process.stdout.write(`${JSON.stringify({ completed, failed, ms: performance.now() - start })}\n`);
