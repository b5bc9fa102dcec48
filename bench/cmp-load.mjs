// Load generator for bench/cmp.mjs, its own process so that client work is not charged to the
// server under test:
//   URL BODIES_FILE CONTENT_TYPE HEADERS_JSON CONCURRENCY MS -> {"completed":N,"failed":F,"ms":T,"firstError":…}
// BODIES_FILE holds one base64 request body per line, each sent once (a CMP message carries a
// one-time token and its own transactionID: replaying one is a refusal), over CONCURRENCY
// keep-alive connections, until every body is sent or MS have passed. A CMP answer counts as
// completed only if it is a certificate response (cp), not an error message.
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import * as pki from '../packages/pki/dist/src/index.js';

const [url, bodiesFile, contentType, headersJson, concurrencyArg, msArg] = process.argv.slice(2);
const target = new URL(url);
const bodies = readFileSync(bodiesFile, 'utf8').trim().split('\n').map((line) => Buffer.from(line, 'base64'));
const headers = { 'content-type': contentType, ...JSON.parse(headersJson) };
const isCmp = contentType === 'application/pkixcmp';
const concurrency = Number(concurrencyArg);
const agent = new Agent({ keepAlive: true, maxSockets: concurrency });

let next = 0;
let completed = 0;
let failed = 0;
let firstError;
function answeredWell(status, body) {
  if (status < 200 || status >= 300) return `${status} ${body.toString('utf8').slice(0, 300)}`;
  if (!isCmp) return undefined;
  const message = pki.parseCmpMessage(body);
  return message.body.type === 'other' && message.body.tagNumber === pki.CMP_BODY_TYPES.cp ? undefined : `a ${message.body.type} answer: ${JSON.stringify(message.body).slice(0, 300)}`;
}
function once(body) {
  return new Promise((resolve) => {
    const req = request({ host: target.hostname, port: target.port, path: target.pathname, method: 'POST', agent, headers: { ...headers, 'content-length': body.length } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const problem = answeredWell(res.statusCode, Buffer.concat(chunks));
        if (problem) firstError ??= problem;
        resolve(problem === undefined);
      });
    });
    req.on('error', (error) => {
      firstError ??= error.message;
      resolve(false);
    });
    req.end(body);
  });
}
const start = performance.now();
const deadline = start + Number(msArg);
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (performance.now() < deadline && next < bodies.length) {
      if (await once(bodies[next++])) completed++;
      else failed++;
    }
  }),
);
const ms = performance.now() - start;
agent.destroy();
process.stdout.write(JSON.stringify({ completed, failed, ms, exhausted: next >= bodies.length, firstError }));
