import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { csrFor, makeDevice, makeRoot, newKey, openssl, opensslCrl, T0, tempDir } from '@fleetpki/test-support';
import { readerOver, readSingle } from '../src/der/reader.js';
import { decodeObjects, decodePem, encodePem, isPkiError, isPkiErrorCode, parseCertificate, parseCrl, parseCsr, parseName, parseOcspRequest, parseSubjectPublicKeyInfo, privateKeyFromDer, sniffPrivateKeyFormat, spkiDer } from '../src/index.js';

/**
 * Bounded fuzzing of the core's parsers (CI): mutations of real objects — certificates, a CSR,
 * an openssl-made CRL, keys in SEC1, PKCS#8 and PKCS#1, SPKI, PEM — and random bytes. Every call
 * either returns or throws a PkiError with a code of the closed union: never another exception,
 * never a hang. Longer runs: FLEETPKI_PKI_FUZZ_ITERATIONS=10000000 FLEETPKI_PKI_FUZZ_SECONDS=600
 * (FLEETPKI_PKI_FUZZ_SEED replays one; each failure prints its seed and input).
 */
const ITERATIONS = Number(process.env['FLEETPKI_PKI_FUZZ_ITERATIONS'] ?? 20_000);
const SECONDS_PER_PARSER = Number(process.env['FLEETPKI_PKI_FUZZ_SECONDS'] ?? 3);
const SEED = Number(process.env['FLEETPKI_PKI_FUZZ_SEED'] ?? Date.now() % 2 ** 31);
/** One parse of a few kilobytes takes microseconds; a hang shows as this. */
const MAX_MS_PER_CALL = 250;

function prng(seed: number): () => number {
  let x = seed || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

/** DER-aware and blind mutations: bit flips, length fields, truncation, insertion, nesting bombs. */
function mutate(input: Buffer, random: () => number): Buffer {
  const out = Buffer.from(input);
  const at = Math.floor(random() * Math.max(1, out.length));
  switch (Math.floor(random() * 9)) {
    case 0:
      for (let i = 0; i < 1 + random() * 8 && out.length > 0; i++) {
        const j = Math.floor(random() * out.length);
        out[j] = (out[j] as number) ^ (1 << Math.floor(random() * 8));
      }
      return out;
    case 1: // a length byte: short form, long forms, indefinite, past the end
      out[at] = [0x80, 0x81, 0x82, 0x84, 0xff, 0x7f, 0x00][Math.floor(random() * 7)] as number;
      return out;
    case 2: // 0x84 FFFFFFFF: four gigabytes declared
      return Buffer.concat([out.subarray(0, at), Buffer.from([0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), out.subarray(at)]);
    case 3:
      return out.subarray(0, at);
    case 4:
      return Buffer.concat([out.subarray(0, at), randomBytes(1 + Math.floor(random() * 32)), out.subarray(at)]);
    case 5: { // deep nesting
      const depth = 10 + Math.floor(random() * 5000);
      const nest = Buffer.alloc(depth * 2);
      for (let i = 0; i < depth; i++) nest.set([0x30, 0x80], i * 2);
      return Buffer.concat([out.subarray(0, at), nest]);
    }
    case 6: // a huge OID arc
      return Buffer.concat([out.subarray(0, at), Buffer.from([0x06, 0x0c, 0x2a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]), out.subarray(at)]);
    case 7: // a repeated stretch (duplicated extensions, RDNs …)
      return Buffer.concat([out.subarray(0, at), out.subarray(at, at + 64), out.subarray(at)]);
    default:
      return randomBytes(Math.floor(random() * 600));
  }
}

describe('parsers of @fleetpki/pki under bounded fuzzing', () => {
  const tmp = tempDir('fleetpki-fuzz-');
  after(() => tmp.cleanup());
  const root = makeRoot('/CN=Test Root CA', { from: T0 });
  const device = makeDevice(root, '/O=acme/CN=dev-1', { from: T0 });
  const csr = csrFor('/O=acme/CN=fuzz-1');
  tmp.write('root.pem', root.pem);
  tmp.write('root.key.pem', root.key.export({ type: 'pkcs8', format: 'pem' }));
  tmp.write('device.pem', device.pem);
  const crl = opensslCrl(tmp, { caCert: 'root.pem', caKey: 'root.key.pem', revoke: ['device.pem'], out: 'root.crl', lifetime: { days: 1 } });
  const crlDer = decodePem(crl)[0]?.der as Buffer;
  // An OCSP request as openssl writes one (with a nonce), for the responder's parser.
  openssl(['ocsp', '-issuer', 'root.pem', '-cert', 'device.pem', '-reqout', 'ocsp.req', '-nonce'], tmp.dir);
  const ocspRequest = tmp.read('ocsp.req');
  const ecKey = newKey();
  const rsaKey = newKey({ kind: 'rsa', bits: 2048 });
  const keys = [ecKey.export({ type: 'sec1', format: 'der' }), ecKey.export({ type: 'pkcs8', format: 'der' }), rsaKey.export({ type: 'pkcs1', format: 'der' })];

  const parsers: { name: string; corpus: Buffer[]; parse: (input: Buffer) => unknown }[] = [
    { name: 'DER reader (every element, recursively)', corpus: [device.der, csr.der, crlDer], parse: (input) => walk(readSingle(input, 'fuzz')) },
    { name: 'PEM', corpus: [Buffer.from(device.pem), Buffer.from(encodePem('X509 CRL', crlDer))], parse: (input) => decodePem(input) },
    { name: 'certificate', corpus: [device.der, root.der], parse: (input) => parseCertificate(input) },
    { name: 'CSR', corpus: [csr.der], parse: (input) => parseCsr(input) },
    { name: 'CRL', corpus: [crlDer], parse: (input) => parseCrl(input) },
    { name: 'OCSP request', corpus: [ocspRequest], parse: (input) => parseOcspRequest(input) },
    { name: 'SubjectPublicKeyInfo', corpus: [spkiDer(ecKey), spkiDer(rsaKey)], parse: (input) => parseSubjectPublicKeyInfo(input, 'fuzz') },
    { name: 'private key (SEC1, PKCS#8, PKCS#1)', corpus: keys, parse: (input) => privateKeyFromDer(input, sniffPrivateKeyFormat(input) ?? 'sec1') },
    { name: 'name', corpus: [device.cert.subject.der, root.cert.subject.der], parse: (input) => parseName(readSingle(input, 'name'), 'name') },
    { name: 'any object (decodeObjects)', corpus: [device.der, csr.der, crlDer, Buffer.from(device.pem + root.pem)], parse: (input) => decodeObjects(input) },
  ];

  for (const parser of parsers) {
    it(`${parser.name}: up to ${ITERATIONS} mutated inputs (or ${SECONDS_PER_PARSER} s) return or throw a PkiError`, (t) => {
      t.diagnostic(`seed ${SEED}`);
      const random = prng(SEED ^ parser.name.length);
      const started = Date.now();
      let parsed = 0;
      let refused = 0;
      let i = 0;
      for (; i < ITERATIONS && Date.now() - started < SECONDS_PER_PARSER * 1000; i++) {
        const input = mutate(parser.corpus[Math.floor(random() * parser.corpus.length)] as Buffer, random);
        const callStarted = performance.now();
        try {
          parser.parse(input);
          parsed++;
        } catch (error) {
          if (!isPkiError(error) || !isPkiErrorCode(error.code)) {
            assert.fail(`seed ${SEED}, iteration ${i}: ${parser.name} threw ${String(error)} for ${input.toString('hex').slice(0, 4000)}`);
          }
          refused++;
        }
        const ms = performance.now() - callStarted;
        assert.ok(ms < MAX_MS_PER_CALL, `seed ${SEED}, iteration ${i}: ${parser.name} took ${ms.toFixed(0)} ms for ${input.length} bytes`);
      }
      t.diagnostic(`${i} inputs in ${Date.now() - started} ms: ${parsed} parsed, ${refused} refused`);
      assert.ok(refused > 0 && i > 0);
    });
  }
});

/** Reads every element under `el`, as a parser walking unknown content would. */
function walk(el: ReturnType<typeof readSingle>, depth = 0): number {
  if ((el.tag & 0x20) === 0) return 1;
  const reader = readerOver(el, 'fuzz');
  let count = 1;
  while (!reader.atEnd()) count += walk(reader.read(), depth + 1);
  return count;
}
