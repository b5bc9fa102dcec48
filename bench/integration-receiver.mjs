// The webhook receiver of bench/integration.mjs, its own process: verifies every delivery's
// signature with the `standardwebhooks` library, answers 204, and counts distinct webhook-ids.
//   node integration-receiver.mjs PORT   -> prints "listening", then serves
//   POST /control {"secret": "whsec_…"} sets the secret; {"reset": true} zeroes the counts;
//   any POST /control answers {received, duplicates, badSignatures}.
import { createServer } from 'node:http';
import { Webhook } from 'standardwebhooks';

const port = Number(process.argv[2]);
let verifier;
let seen = new Set();
let duplicates = 0;
let badSignatures = 0;

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    if (req.url === '/control') {
      const order = JSON.parse(body || '{}');
      if (order.secret) verifier = new Webhook(order.secret);
      if (order.reset) {
        seen = new Set();
        duplicates = 0;
        badSignatures = 0;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ received: seen.size, duplicates, badSignatures }));
      return;
    }
    try {
      verifier.verify(body, req.headers);
    } catch {
      badSignatures++;
      res.writeHead(400).end();
      return;
    }
    const id = req.headers['webhook-id'];
    if (seen.has(id)) duplicates++;
    else seen.add(id);
    res.writeHead(204).end();
  });
});
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1', () => process.stdout.write('listening\n'));
