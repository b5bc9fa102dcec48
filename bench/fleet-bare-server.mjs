// The baselines of bench/fleet.mjs, with as many node:cluster workers as the fleetpki server
// under test, sharing one port the way `fleetpki serve --workers` does:
//   https CERT KEY PORT WORKERS -> Node's bare HTTPS server with the gateway's own TLS settings
//     (deviceTlsOptions), asking for a client certificate and accepting any (no validation, no
//     store), answering every request with a fixed 200;
//   mqtt CERT KEY PORT WORKERS  -> a bare Node `tls` server with Node's defaults, asking for a
//     client certificate and accepting any, answering an MQTT CONNECT with CONNACK (accepted).
// The primary prints {"url"} once every worker listens, then serves until killed.
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTlsServer } from 'node:tls';
import { deviceTlsOptions, DEVICE_KEEP_ALIVE_MS } from '../packages/server/dist/src/index.js';

const [mode, certFile, keyFile, port, workers] = process.argv.slice(2);
const CONNACK = Buffer.from([0x20, 0x02, 0x00, 0x00]);

if (cluster.isPrimary) {
  let listening = 0;
  for (let i = 0; i < Number(workers); i++) {
    cluster.fork().once('listening', () => {
      if (++listening === Number(workers)) process.stdout.write(`${JSON.stringify({ url: `https://127.0.0.1:${port}` })}\n`);
    });
  }
  process.on('SIGTERM', () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGKILL');
    process.exit(0);
  });
} else if (mode === 'https') {
  const server = createHttpsServer(deviceTlsOptions(readFileSync(certFile, 'utf8'), readFileSync(keyFile, 'utf8')), (req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"ok":true}');
  });
  server.keepAliveTimeout = DEVICE_KEEP_ALIVE_MS;
  server.listen(Number(port), '127.0.0.1');
} else {
  const server = createTlsServer({ cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8'), requestCert: true, rejectUnauthorized: false }, (socket) => {
    socket.once('data', () => socket.write(CONNACK));
    socket.on('error', () => socket.destroy());
  });
  server.listen(Number(port), '127.0.0.1');
}
