// The baseline of bench/gateway.mjs: Node's bare HTTPS server asking for a client certificate
// and accepting any (no validation, no store), with the gateway's own TLS settings and
// certificate, answering every request with a fixed 200. Prints its URL, then serves until killed.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { deviceTlsOptions, DEVICE_KEEP_ALIVE_MS } from '../packages/server/dist/src/index.js';

const [certFile, keyFile] = process.argv.slice(2);
const server = createServer(deviceTlsOptions(readFileSync(certFile, 'utf8'), readFileSync(keyFile, 'utf8')), (req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end('{"ok":true}');
});
server.keepAliveTimeout = DEVICE_KEEP_ALIVE_MS;
server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ url: `https://127.0.0.1:${server.address().port}`, pid: process.pid })}\n`));
