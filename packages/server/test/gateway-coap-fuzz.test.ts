import assert from 'node:assert/strict';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { makeDevice, makeRoot } from '@fleetpki/test-support';
import { blockOption } from '../src/gateway/coap-blocks.js';
import { CoapFormatError, CoapOption, CoapType, dottedCoapCode, encodeCoapMessage, parseCoapMessage, uintOption } from '../src/gateway/coap-message.js';
import type { Logger } from '../src/logger.js';
import { startTestApi, type TestApi } from './helpers/api.js';
import { base64 } from './helpers/base64.js';
import { jsonOf, TestCoapClient } from './helpers/coap-session-client.js';
import { seededRandom } from './helpers/seeded-random.js';

/**
 * Bounded fuzzing of CoAP inside established DTLS sessions (CI): mutated and random messages
 * into an admitted session and a refused one, and every input into the codec. Longer runs:
 * FLEETPKI_COAP_FUZZ_ITERATIONS=1000000 FLEETPKI_COAP_FUZZ_SECONDS=600 (FLEETPKI_COAP_FUZZ_SEED
 * replays one).
 */
const ITERATIONS = Number(process.env['FLEETPKI_COAP_FUZZ_ITERATIONS'] ?? 20_000);
const MAX_MS = Number(process.env['FLEETPKI_COAP_FUZZ_SECONDS'] ?? 8) * 1000;
const CODEC_ITERATIONS = Number(process.env['FLEETPKI_COAP_FUZZ_ITERATIONS'] ?? 200_000);
const SEED = Number(process.env['FLEETPKI_COAP_FUZZ_SEED'] ?? Date.now() % 2 ** 31);
/** The server's whole growth over a run; a table without a bound would grow by the input. */
/** RSS may grow by this much (a leak of a few hundred bytes per message would pass it many times over). */
const RSS_LIMIT = 64 * 1024 * 1024;
/** What the heap may still hold after a full collection (6 to 8 MiB seen: compiled code, caches warmed by the fuzz); a leak of 1 KiB per message is 20 MiB. */
const RETAINED_LIMIT = 16 * 1024 * 1024;

/** A full collection (V8's gc, exposed for this test), then the heap and off-heap bytes still held. */
function retainedAfterGc(): number {
  v8.setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.external;
}

const path = (...segments: string[]) => segments.map((s) => ({ number: CoapOption.URI_PATH, value: Buffer.from(s) }));

/** Valid requests the mutations start from. */
const CORPUS: Buffer[] = [
  encodeCoapMessage({ type: CoapType.CON, code: 1, messageId: 1, token: Buffer.from([1, 2]), options: path('v1', 'device', 'identity'), payload: Buffer.alloc(0) }),
  encodeCoapMessage({ type: CoapType.NON, code: 1, messageId: 2, token: Buffer.alloc(0), options: path('.well-known', 'core'), payload: Buffer.alloc(0) }),
  encodeCoapMessage({ type: CoapType.CON, code: 2, messageId: 3, token: Buffer.from([9]), options: [...path('v1', 'csr'), uintOption(CoapOption.CONTENT_FORMAT, 286), blockOption(CoapOption.BLOCK1, { num: 0, more: true, size: 256 })], payload: randomBytes(256) }),
  encodeCoapMessage({ type: CoapType.CON, code: 2, messageId: 4, token: Buffer.from([9]), options: [...path('v1', 'csr'), blockOption(CoapOption.BLOCK1, { num: 1, more: false, size: 256 })], payload: randomBytes(100) }),
  encodeCoapMessage({ type: CoapType.CON, code: 1, messageId: 5, token: Buffer.from([7, 7, 7, 7, 7, 7, 7, 7]), options: [...path('v1', 'device', 'identity'), blockOption(CoapOption.BLOCK2, { num: 1, more: false, size: 16 })], payload: Buffer.alloc(0) }),
  Buffer.from([0x40, 0x00, 0x12, 0x34]),
];

function mutate(input: Buffer, random: () => number): Buffer {
  const out = Buffer.from(input);
  const at = Math.floor(random() * Math.max(1, out.length));
  switch (Math.floor(random() * 7)) {
    case 0: // flip bits
      for (let i = 0; i < 1 + random() * 6 && out.length > 0; i++) {
        const j = Math.floor(random() * out.length);
        out[j] = (out[j] as number) ^ (1 << Math.floor(random() * 8));
      }
      return out;
    case 1: // truncate
      return out.subarray(0, at);
    case 2: // an option header or length byte set to anything
      if (out.length > 4) out[4 + Math.floor(random() * (out.length - 4))] = Math.floor(random() * 256);
      return out;
    case 3: // duplicate a tail (repeated options)
      return Buffer.concat([out, out.subarray(at)]).subarray(0, 1152);
    case 4: // random tail
      return Buffer.concat([out.subarray(0, at), randomBytes(Math.floor(random() * 200))]);
    case 5: // multi-byte path segment
      return Buffer.concat([out.subarray(0, Math.min(out.length, 4)), Buffer.from([0xbd, Math.floor(random() * 200)]), Buffer.from('\u4e00'.repeat(60)).subarray(0, 200)]);
    default: // random bytes with a CoAP version
      return Buffer.concat([Buffer.from([0x40 | Math.floor(random() * 64)]), randomBytes(Math.floor(random() * 300))]);
  }
}

describe('CoAP inside DTLS: bounded fuzzing', () => {
  let api: TestApi;
  const errors: string[] = [];
  const logger: Logger = { log: (level, msg, fields) => void (level === 'error' && errors.push(`${msg} ${JSON.stringify(fields ?? {})}`)) };
  const root = makeRoot('/CN=Fuzz Root');
  const admitted = makeDevice(root, '/O=acme/CN=fuzz-admitted');
  const refused = makeDevice(makeRoot('/CN=Unknown Fuzz Root'), '/O=acme/CN=fuzz-refused');
  let port: number;

  before(async () => {
    api = await startTestApi('sqlite', { serve: { logger } });
    assert.equal((await api.call('POST', '/v1/projects', { json: { name: 'acme', slug: 'acme' } })).status, 201);
    assert.equal((await api.call('POST', '/v1/projects/acme/certificates', { json: { certFile: base64(root.pem) } })).status, 201);
    port = Number(new URL(api.server.coapUrl.replace(/^coaps:/, 'https:')).port);
  });
  after(() => api.close());

  it(`the codec: ${CODEC_ITERATIONS} mutated datagrams parse or throw CoapFormatError, and what parses re-encodes to itself`, (t) => {
    t.diagnostic(`seed ${SEED}`);
    const random = seededRandom(SEED);
    const started = Date.now();
    let parsed = 0;
    for (let i = 0; i < CODEC_ITERATIONS && Date.now() - started < MAX_MS; i++) {
      const input = mutate(CORPUS[Math.floor(random() * CORPUS.length)] as Buffer, random);
      try {
        const message = parseCoapMessage(input);
        parsed++;
        if (input.length <= 1152) assert.deepEqual(encodeCoapMessage(message), input, `seed ${SEED}, input ${input.toString('hex')}`);
      } catch (error) {
        if (!(error instanceof CoapFormatError)) assert.fail(`seed ${SEED}: ${String(error)} for ${input.toString('hex')}`);
      }
    }
    t.diagnostic(`${parsed} parsed`);
    assert.ok(parsed > 0);
  });

  for (const kind of ['admitted', 'refused'] as const) {
    it(`a ${kind} session: up to ${ITERATIONS} mutated messages (or ${MAX_MS / 1000} s): no error logged, memory bounded, the session and the server answer after`, async (t) => {
      t.diagnostic(`seed ${SEED}`);
      const random = seededRandom(SEED + (kind === 'refused' ? 1 : 0));
      const cert = kind === 'admitted' ? admitted : refused;
      const client = new TestCoapClient(cert.pem, cert.keyPem, port);
      assert.equal(await client.connect(), 'established');
      const rssBefore = process.memoryUsage().rss;
      const retainedBefore = retainedAfterGc();
      const started = Date.now();
      let sent = 0;
      while (sent < ITERATIONS && Date.now() - started < MAX_MS) {
        client.sendRaw(mutate(CORPUS[Math.floor(random() * CORPUS.length)] as Buffer, random));
        sent++;
        if (sent % 50 === 0) {
          client.drain();
          await new Promise((resolve) => setTimeout(resolve, 2));
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
      client.drain();
      // The session survived the fuzz and still answers what its verdict says.
      const answer = await client.request('GET', '/v1/device/identity');
      const grown = process.memoryUsage().rss - rssBefore;
      const retained = retainedAfterGc() - retainedBefore;
      t.diagnostic(`${sent} messages in ${Date.now() - started} ms; RSS ${(grown / 1024 / 1024).toFixed(1)} MiB, retained after GC ${(retained / 1024 / 1024).toFixed(1)} MiB; block bytes ${api.server.coapStats().blockBytes}`);
      client.close();
      assert.deepEqual(errors, [], `seed ${SEED}`);
      assert.equal(answer && dottedCoapCode(answer.code), kind === 'admitted' ? '2.05' : '4.03', `seed ${SEED}`);
      if (kind === 'admitted') assert.equal(jsonOf(answer)['certificateId'], 'fuzz-admitted');
      // What the server keeps, not what the collector has yet to free: RSS alone swung from 4 to
      // 39 MiB on the same seed with another test file running beside it (--test-concurrency=2).
      assert.ok(retained < RETAINED_LIMIT, `the heap kept ${(retained / 1024 / 1024).toFixed(1)} MiB after a collection (seed ${SEED})`);
      assert.ok(grown < RSS_LIMIT, `RSS grew by ${(grown / 1024 / 1024).toFixed(1)} MiB (seed ${SEED})`);
      // One session holds at most one upload.
      assert.ok(api.server.coapStats().blockBytes <= 16 * 1024);
      assert.equal((await api.call('GET', '/v1/server-ca', { key: null })).status, 200);
    });
  }
});
