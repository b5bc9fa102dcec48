// Load generator for bench/fleet.mjs, run as processes of their own so that client work is not
// charged to the server under test. Devices are the rows of a `fleetpki devices generate`
// manifest (certificate_id, key_file, cert_file), rows FIRST to FIRST+COUNT-1. Two modes:
//   storm URL CA DIR FIRST COUNT CONCURRENCY -> every device connects once, as after an outage:
//     a fresh TLS connection with its own certificate (no session to resume), one
//     GET /v1/device/identity, close. Prints {"completed","failed","ms","latencies":[ms…]}, each
//     latency from the TCP connect to the identity answer's last byte.
//   hold-mqtt URL CA DIR FIRST COUNT -> an MQTT connection per device (CONNECT with its
//     certificate ID, answered by CONNACK), prints {"open":N} once all answered, then holds
//     them until stdin closes.
// Each device's TLS context (its key parsed) is built first; then the process prints `ready` and
// starts when a `go` line comes on stdin, so that several load processes start together.
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { connect, createSecureContext } from 'node:tls';

const [mode, url, caFile, dir, first, count, concurrency] = process.argv.slice(2);
const target = new URL(url);
const ca = readFileSync(caFile);
const devices = readFileSync(join(dir, 'manifest.csv'), 'utf8')
  .trim()
  .split('\n')
  .slice(1 + Number(first), 1 + Number(first) + Number(count))
  .map((line) => {
    const [certificateId, , , , keyFile, certFile] = line.split(',');
    return { certificateId, secureContext: createSecureContext({ cert: readFileSync(join(dir, certFile)), key: readFileSync(join(dir, keyFile)), ca }) };
  });

const input = createInterface({ input: process.stdin });
process.stdout.write('ready\n');
await new Promise((resolveGo) => input.once('line', resolveGo));

function identityOnce(secureContext) {
  return new Promise((resolve) => {
    const req = request({ host: target.hostname, port: target.port, path: '/v1/device/identity', agent: false, secureContext, servername: 'localhost' }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200));
    });
    req.on('error', () => resolve(false));
    req.end();
  });
}

/** MQTT 3.1.1 CONNECT: clean session, no keep-alive timer (an idle device), client ID = certificate ID. */
function connectPacket(clientId) {
  const id = Buffer.from(clientId, 'utf8');
  const variable = Buffer.from([0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x00]);
  const remaining = variable.length + 2 + id.length;
  if (remaining > 127) throw new Error('client ID too long for a one-byte remaining length');
  return Buffer.concat([Buffer.from([0x10, remaining]), variable, Buffer.from([id.length >> 8, id.length & 0xff]), id]);
}

if (mode === 'storm') {
  let next = 0;
  let completed = 0;
  let failed = 0;
  const latencies = [];
  const start = performance.now();
  await Promise.all(
    Array.from({ length: Number(concurrency) }, async () => {
      while (next < devices.length) {
        const device = devices[next++];
        const began = performance.now();
        if (await identityOnce(device.secureContext)) {
          completed++;
          latencies.push(Math.round((performance.now() - began) * 100) / 100);
        } else failed++;
      }
    }),
  );
  process.stdout.write(`${JSON.stringify({ completed, failed, ms: performance.now() - start, latencies })}\n`);
} else if (mode === 'hold-mqtt') {
  const sockets = [];
  let open = 0;
  const BATCH = 100;
  for (let i = 0; i < devices.length; i += BATCH) {
    await Promise.all(
      devices.slice(i, i + BATCH).map(
        (device) =>
          new Promise((resolve) => {
            const socket = connect({ host: target.hostname, port: Number(target.port), secureContext: device.secureContext, servername: 'localhost' });
            socket.on('error', () => resolve());
            socket.once('secureConnect', () => socket.write(connectPacket(device.certificateId)));
            socket.once('data', (data) => {
              if (data[0] === 0x20 && data[3] === 0x00) open++; // CONNACK, accepted
              resolve();
            });
            sockets.push(socket);
          }),
      ),
    );
  }
  process.stdout.write(`${JSON.stringify({ open })}\n`);
  input.once('close', () => process.exit(0));
} else {
  process.stderr.write('usage: fleet-load.mjs storm|hold-mqtt URL CA DIR FIRST COUNT [CONCURRENCY]\n');
  process.exit(2);
}
