// The ceiling for bench/revocation.mjs's OCSP part: Node's bare HTTP server answering every
// POST with the same bytes (a real OCSP response, read from a file), no parsing, no lookup.
//   ocsp-bare-server.mjs RESPONSE_FILE -> prints {"url": ...}
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

const answer = readFileSync(process.argv[2]);
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/ocsp-response', 'content-length': answer.length });
    res.end(answer);
  });
});
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ url: `http://127.0.0.1:${server.address().port}/` })));
