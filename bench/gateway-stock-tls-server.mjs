// The issue's own memory baseline for bench/gateway.mjs: a bare Node `tls` server, as anyone
// would first write it, that asks for a client certificate and accepts any (Node's defaults
// otherwise: session tickets, session cache). No HTTP layer: it answers every chunk a client
// sends with a fixed HTTP/1.1 200, enough for the bench's load generator. Prints its URL, then
// serves until killed.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:tls';

const RESPONSE = 'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{"ok":true}';
const [certFile, keyFile] = process.argv.slice(2);
const server = createServer({ cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8'), requestCert: true, rejectUnauthorized: false }, (socket) => {
  socket.on('data', () => socket.write(RESPONSE));
  socket.on('error', () => socket.destroy());
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ url: `https://127.0.0.1:${server.address().port}`, pid: process.pid })}\n`));
