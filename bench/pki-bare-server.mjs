// The second baseline of bench/pki.mjs: what Node itself allows. Node's bare HTTP server on
// every core (node:cluster) doing only the cryptography and encoding of an issuance with
// @fleetpki/pki — read the JSON body, decode the CSR, verify its signature, sign a device
// certificate with an in-memory P-256 CA, answer it as JSON — with no API key, no store, no
// record, no audit, no log. Usage: PORT WORKERS. Serves until killed.
import cluster from 'node:cluster';
import { createServer } from 'node:http';
import * as pki from '../packages/pki/dist/src/index.js';

const [portArg, workersArg] = process.argv.slice(2);
const workers = Number(workersArg);

if (cluster.isPrimary && workers > 1) {
  for (let i = 0; i < workers; i++) cluster.fork();
  process.on('SIGTERM', () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill('SIGTERM');
    process.exit(0);
  });
} else {
  const caKey = pki.generateKeyPair({ kind: 'ec', curve: 'P-256' }).privateKey;
  const caCertificate = pki.parseCertificate(pki.createSelfSignedCa({ subject: pki.parseSubjectString('/CN=Bare Node CA'), privateKey: caKey, validity: pki.validityForDays(new Date(), 365) }).der);
  const issuer = pki.prepareIssuer(caCertificate, caKey);
  const fail = (res, status) => {
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': 2 });
    res.end('{}');
  };
  createServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', async () => {
      try {
        const { csr: field } = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        const csr = pki.parseCsr(pki.decodePem(Buffer.from(field, 'base64').toString('utf8'))[0].der);
        if (!(await pki.verifyCsrSignature(csr))) return fail(res, 400);
        const { certificateId } = pki.deviceIdentityFromSubject(csr.subject, 'bench');
        const issued = pki.issueCertificate(issuer, { subject: pki.deviceSubject('bench', certificateId), publicKey: csr.publicKey, validity: pki.validityForDays(new Date(), 30), profile: { kind: 'device' } });
        const text = JSON.stringify({ certificate: pki.encodePem('CERTIFICATE', issued.der), serialNumber: pki.serialHex(issued), fingerprintSha256: pki.fingerprintSha256(issued.der) });
        res.writeHead(201, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        res.end(text);
      } catch {
        fail(res, 400);
      }
    });
  }).listen(Number(portArg), '127.0.0.1');
}
