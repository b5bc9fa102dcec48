import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { encodeName, encodePem, generateEncodedKeyPair, issueCertificate, prepareIssuer } from '@fleetpki/pki';
import { makeDevice, makeRoot } from '@fleetpki/test-support';
import { blockOption } from '../src/gateway/coap-blocks.js';
import { CoapOption, CoapType, dottedCoapCode, encodeCoapMessage, parseCoapMessage, readUintOption, uintOption, type CoapMessage } from '../src/gateway/coap-message.js';
import { MAX_CSR_BYTES } from '../src/domain/issuance/index.js';
import { startTestApi, type TestApi } from './helpers/api.js';
import { base64 } from './helpers/base64.js';
import { coapGet, runTool } from './helpers/coap-clients.js';
import { jsonOf, TestCoapClient } from './helpers/coap-session-client.js';
import { writeDeviceFiles, type DeviceFiles } from './helpers/device-clients.js';
import { TRANSPORTS } from './helpers/transports.js';

/** The unauthenticated Block1 flood: bounded by count and time, whichever comes first. */
const FLOOD_DATAGRAMS = 20_000;
const FLOOD_MAX_MS = 3_000;
/** "Within a few MiB": the old layer grew by 75–87 MB on the same flood. */
const FLOOD_RSS_LIMIT = 8 * 1024 * 1024;
const FLOOD_ROUNDS = 3;
const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

const FLOODER = fileURLToPath(new URL('./helpers/coap-block1-flood.js', import.meta.url));

/** A full collection, so RSS says what is held rather than what is garbage not yet collected. */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/** A confirmable request datagram with the given path segments, options and payload. */
function con(code: number, path: string[], extra: { number: number; value: Buffer }[] = [], payload = Buffer.alloc(0), messageId = 1): Buffer {
  const options = [...path.map((p) => ({ number: CoapOption.URI_PATH, value: Buffer.from(p, 'latin1') })), ...extra];
  return encodeCoapMessage({ type: CoapType.CON, code, messageId, token: Buffer.from([1, 2, 3, 4]), options, payload });
}

const GET = 1;
const POST = 2;

/** `openssl s_client -dtls1_2` without a certificate, writing `datagram` as application data; what came back. */
async function sClientWithoutCertificate(port: number, datagram: Buffer): Promise<Buffer> {
  const child = spawn('openssl', ['s_client', '-dtls1_2', '-quiet', '-connect', `127.0.0.1:${port}`], { stdio: ['pipe', 'pipe', 'pipe'] });
  const chunks: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  child.stderr.on('data', () => undefined);
  child.stdin.write(datagram);
  const timer = setTimeout(() => child.kill('SIGKILL'), 4_000);
  await new Promise<void>((resolve) => {
    const poll = setInterval(() => {
      if (chunks.length > 0) {
        clearInterval(poll);
        setTimeout(() => child.kill('SIGKILL'), 200);
      }
    }, 50);
    child.once('close', () => {
      clearInterval(poll);
      clearTimeout(timer);
      resolve();
    });
  });
  return Buffer.concat(chunks);
}

describe('CoAP/DTLS: hostile input from admitted and refused sessions; the server serves on', () => {
  let api: TestApi;
  let dir: string;
  let serverCa: string;
  let port: number;
  let good: DeviceFiles;
  const root = makeRoot('/CN=Hostile Root');
  const strangerRoot = makeRoot('/CN=Nobody Uploaded Me');
  const goodCert = makeDevice(root, '/O=acme/CN=good-device');
  const admittedCert = makeDevice(root, '/O=acme/CN=hostile-but-admitted');
  const refusedCert = makeDevice(strangerRoot, '/O=acme/CN=refused-device');

  const session = async (cert: { pem: string; keyPem: string }): Promise<TestCoapClient> => {
    const client = new TestCoapClient(cert.pem, cert.keyPem, port);
    assert.equal(await client.connect(), 'established');
    return client;
  };

  /** The process is alive, its API answers, and a good device authenticates over CoAP. */
  const stillServes = async (): Promise<void> => {
    assert.equal((await api.call('GET', '/v1/server-ca', { key: null })).status, 200);
    const client = await session(goodCert);
    try {
      const answer = await client.request('GET', '/v1/device/identity');
      assert.equal(answer && dottedCoapCode(answer.code), '2.05');
      assert.equal(jsonOf(answer)['certificateId'], 'good-device');
    } finally {
      client.close();
    }
  };

  /** And over every transport, with the real clients. */
  const servesEveryTransport = async (): Promise<void> => {
    await stillServes();
    for (const transport of TRANSPORTS) {
      const answer = await transport.clients[0].attempt({ urls: api.server, serverCaFile: serverCa }, good);
      assert.ok(answer.admitted, `${transport.name}: ${answer.output}`);
      if (transport.answersWithBody) assert.equal(answer.body?.['certificateId'], 'good-device');
    }
  };

  before(async () => {
    api = await startTestApi('sqlite');
    dir = api.store.dataDir;
    assert.equal((await api.call('POST', '/v1/projects', { json: { name: 'acme', slug: 'acme' } })).status, 201);
    assert.equal((await api.call('POST', '/v1/projects/acme/certificates', { json: { certFile: base64(root.pem) } })).status, 201);
    serverCa = join(dir, 'server-ca.pem');
    writeFileSync(serverCa, (await api.call('GET', '/v1/server-ca', { key: null })).text);
    good = writeDeviceFiles(dir, 'good-device', goodCert.pem, goodCert.keyPem);
    port = Number(new URL(api.server.coapUrl.replace(/^coaps:/, 'https:')).port);
  });
  after(() => api.close());

  it('reproducer 1: openssl s_client -dtls1_2 with no certificate sends GET with a 400-byte Uri-Path of 0x80: answered 4.01 NO_CLIENT_CERTIFICATE, nothing echoed', async () => {
    const answer = await sClientWithoutCertificate(port, con(GET, [Buffer.alloc(400, 0x80).toString('latin1')]));
    const message = parseCoapMessage(answer);
    assert.equal(message.type, CoapType.ACK);
    assert.equal(dottedCoapCode(message.code), '4.01');
    assert.equal(jsonOf(message)['code'], 'NO_CLIENT_CERTIFICATE');
    assert.ok(!answer.includes(Buffer.from([0x80, 0x80])));
    await servesEveryTransport();
  });

  it('reproducer 2: coap-client-openssl with a certificate whose O is 350 × U+4E00: a refusal that fits one message; the server serves on', async () => {
    // openssl refuses an O past ub-organization-name (64); our issuer, given the name as DER, does not.
    const pair = generateEncodedKeyPair({ kind: 'ec', curve: 'P-256' });
    const subject = encodeName([[{ type: '2.5.4.10', valueTag: 12, value: '\u4e00'.repeat(350) }], [{ type: '2.5.4.3', valueTag: 12, value: 'cjk-1' }]]);
    const now = Date.now();
    const issued = issueCertificate(prepareIssuer(root.cert, root.key), { subject, publicKey: pair.publicKey, validity: { notBefore: new Date(now - 60_000), notAfter: new Date(now + 86_400_000) }, profile: { kind: 'device' } });
    writeFileSync(join(dir, 'cjk.crt.pem'), encodePem('CERTIFICATE', issued.der));
    writeFileSync(join(dir, 'cjk.key.pem'), encodePem('EC PRIVATE KEY', pair.privateKeyDer), { mode: 0o600 });
    const answer = await coapGet('openssl', api.server.coapUrl, '/v1/device/identity', { files: { cert: join(dir, 'cjk.crt.pem'), key: join(dir, 'cjk.key.pem') } }, serverCa);
    assert.equal(answer.code, '4.03', answer.text);
    assert.equal(typeof answer.body['code'], 'string');
    assert.notEqual(answer.body['code'], 'INTERNAL_ERROR');
    await servesEveryTransport();
  });

  it(`a Block1 flood from a refused session (${FLOOD_DATAGRAMS} pieces or ${FLOOD_MAX_MS} ms, from another process) keeps nothing: no block bytes held, RSS within ${FLOOD_RSS_LIMIT / 1024 / 1024} MiB`, async (t) => {
    const files = writeDeviceFiles(dir, 'refused-device', refusedCert.pem, refusedCert.keyPem);
    const flooder = (count: number) => runTool(process.execPath, [FLOODER, String(port), files.cert, files.key, String(count), String(FLOOD_MAX_MS)], { timeoutMs: FLOOD_MAX_MS + 10_000 });
    // Warm-up: the first burst grows V8's young generation and the allocator's arenas to what any
    // busy server has; the baseline is a server that has seen traffic, as in the ClientHello flood test.
    assert.equal((await flooder(FLOOD_DATAGRAMS)).exitCode, 0);
    // RSS also moves with the allocator and with other test processes on the machine; memory a
    // flood leaves behind would show in every round, so the smallest growth of up to
    // FLOOD_ROUNDS rounds is what is held to the limit.
    const growths: number[] = [];
    for (let round = 0; round < FLOOD_ROUNDS && !growths.some((g) => g < FLOOD_RSS_LIMIT); round++) {
      collectGarbage();
      const before = process.memoryUsage();
      let maxHeld = 0;
      const sampler = setInterval(() => (maxHeld = Math.max(maxHeld, api.server.coapStats().blockBytes)), 20);
      const flood = await flooder(FLOOD_DATAGRAMS);
      clearInterval(sampler);
      assert.equal(flood.exitCode, 0, flood.stderr);
      const result = JSON.parse(flood.stdout) as { sent: number; answers: number; ms: number };
      collectGarbage();
      const after = process.memoryUsage();
      growths.push(after.rss - before.rss);
      t.diagnostic(`round ${round + 1}: ${result.sent} Block1 pieces in ${result.ms} ms, ${result.answers} answers; server RSS ${mib(after.rss - before.rss)}, heap ${mib(after.heapUsed - before.heapUsed)}, external ${mib(after.external - before.external)}; block bytes held at most ${maxHeld}`);
      assert.ok(result.sent >= 1_000, `the flooder sent ${result.sent}`);
      assert.ok(result.answers >= 1, 'the refused session was answered');
      assert.equal(maxHeld, 0);
      assert.equal(api.server.coapStats().blockBytes, 0);
    }
    assert.ok(Math.min(...growths) < FLOOD_RSS_LIMIT, `RSS grew by ${growths.map(mib).join(', ')}`);
    await stillServes();
  });

  /** One row: what an admitted (or refused) session sends, and the answer it must get. */
  interface Row {
    readonly name: string;
    readonly refused?: boolean;
    readonly send: (client: TestCoapClient) => Promise<CoapMessage | undefined>;
    readonly expect: (answer: CoapMessage | undefined) => void;
  }
  const raw = (datagram: Buffer) => async (client: TestCoapClient) => {
    client.sendRaw(datagram);
    const answer = await client.receive(2_000);
    return answer && parseCoapMessage(answer);
  };
  const answered = (code: string, failure?: string) => (answer: CoapMessage | undefined) => {
    assert.equal(answer && dottedCoapCode(answer.code), code);
    if (failure) assert.equal(jsonOf(answer)['code'], failure);
  };
  const reset = (messageId: number) => (answer: CoapMessage | undefined) => {
    assert.equal(answer?.type, CoapType.RST);
    assert.equal(answer?.messageId, messageId);
  };
  const rows: Row[] = [
    { name: 'a Block1 piece numbered 2^20−1 → 4.13 with Size1, nothing allocated', send: (c) => c.request('POST', '/v1/csr', { payload: Buffer.alloc(10), extra: [blockOption(CoapOption.BLOCK1, { num: 2 ** 20 - 1, more: false, size: 1024 })] }), expect: (a) => {
      answered('4.13', 'BODY_TOO_LARGE')(a);
      assert.equal(a && readUintOption(a, CoapOption.SIZE1), MAX_CSR_BYTES);
      assert.equal(api.server.coapStats().blockBytes, 0);
    } },
    { name: 'Size1 declaring more than the CSR limit → 4.13 before a byte is kept', send: (c) => c.request('POST', '/v1/csr', { payload: Buffer.alloc(64), extra: [blockOption(CoapOption.BLOCK1, { num: 0, more: true, size: 64 }), uintOption(CoapOption.SIZE1, 10 * 1024 * 1024)] }), expect: answered('4.13', 'BODY_TOO_LARGE') },
    { name: 'a Block1 piece out of order (NUM 5 first) → 4.08', send: (c) => c.request('POST', '/v1/csr', { payload: Buffer.alloc(64), extra: [blockOption(CoapOption.BLOCK1, { num: 5, more: true, size: 64 })] }), expect: answered('4.08', 'REQUEST_ENTITY_INCOMPLETE') },
    { name: 'a Block1 piece shorter than its block size with more to come → 4.08', send: (c) => c.request('POST', '/v1/csr', { payload: Buffer.alloc(10), extra: [blockOption(CoapOption.BLOCK1, { num: 0, more: true, size: 64 })] }), expect: answered('4.08', 'REQUEST_ENTITY_INCOMPLETE') },
    { name: 'a Block1 piece continues → 2.31 Continue; the session holds one block', send: (c) => c.request('POST', '/v1/csr', { payload: Buffer.alloc(64), extra: [blockOption(CoapOption.BLOCK1, { num: 0, more: true, size: 64 })] }), expect: (a) => {
      answered('2.31')(a);
      assert.equal(api.server.coapStats().blockBytes, 64);
    } },
    { name: 'Block1 with the reserved SZX 7 → 4.02', send: raw(con(POST, ['v1', 'csr'], [{ number: CoapOption.BLOCK1, value: Buffer.from([0x0f]) }], Buffer.alloc(4), 7)), expect: answered('4.02', 'BAD_OPTION') },
    { name: 'a 400-byte Uri-Path of 0x80 on an admitted session → 4.04, nothing echoed', send: raw(con(GET, [Buffer.alloc(400, 0x80).toString('latin1')], [], Buffer.alloc(0), 8)), expect: (a) => {
      answered('4.04', 'ROUTE_NOT_FOUND')(a);
      assert.ok(!a?.payload.includes(Buffer.from([0x80])));
    } },
    { name: 'invalid UTF-8 in Uri-Path → 4.04', send: raw(con(GET, ['\u00c3\u0028', 'identity'], [], Buffer.alloc(0), 9)), expect: answered('4.04', 'ROUTE_NOT_FOUND') },
    { name: 'nine path segments → 4.04', send: raw(con(GET, Array.from({ length: 9 }, () => 'a'), [], Buffer.alloc(0), 10)), expect: answered('4.04', 'ROUTE_NOT_FOUND') },
    { name: 'an unknown critical option (Proxy-Uri) → 4.02', send: raw(con(GET, ['v1', 'device', 'identity'], [{ number: 35, value: Buffer.from('coap://elsewhere') }], Buffer.alloc(0), 11)), expect: answered('4.02', 'BAD_OPTION') },
    { name: 'an unknown method code 0.31 → 4.05', send: raw(con(31, ['v1', 'device', 'identity'], [], Buffer.alloc(0), 12)), expect: answered('4.05', 'METHOD_NOT_ALLOWED') },
    { name: 'POST to the identity resource → 4.05', send: (c) => c.request('POST', '/v1/device/identity'), expect: answered('4.05', 'METHOD_NOT_ALLOWED') },
    { name: 'a body too large in one message → 4.13', send: (c) => c.request('GET', '/v1/device/identity', { payload: Buffer.alloc(900) }), expect: answered('4.13', 'BODY_TOO_LARGE') },
    { name: 'token length 9 (reserved) → RST', send: raw(Buffer.from([0x49, 0x01, 0x00, 0x0d, 1, 2, 3, 4, 5, 6, 7, 8, 9])), expect: reset(13) },
    { name: 'an option running past the end → RST', send: raw(Buffer.from([0x40, 0x01, 0x00, 0x0e, 0xbd, 0x20])), expect: reset(14) },
    { name: 'a payload marker with no payload → RST', send: raw(Buffer.from([0x40, 0x01, 0x00, 0x0f, 0xff])), expect: reset(15) },
    { name: 'option delta nibble 15 → RST', send: raw(Buffer.from([0x40, 0x01, 0x00, 0x10, 0xf1, 0x00])), expect: reset(16) },
    { name: 'an Empty confirmable message (ping) → RST', send: raw(Buffer.from([0x40, 0x00, 0x00, 0x11])), expect: reset(17) },
    { name: 'a response (2.05) sent to the server as CON → RST', send: raw(encodeCoapMessage({ type: CoapType.CON, code: 69, messageId: 18, token: Buffer.alloc(0), options: [], payload: Buffer.from('x') })), expect: reset(18) },
    { name: 'CoAP version 2 → nothing (not a CoAP message to answer)', send: raw(Buffer.from([0x80, 0x01, 0x00, 0x13])), expect: (a) => assert.equal(a, undefined) },
    { name: 'three bytes → nothing', send: raw(Buffer.from([0x40, 0x01, 0x00])), expect: (a) => assert.equal(a, undefined) },
    { name: 'Block2 asking 16-byte pieces: the identity answer comes in pieces that add up', send: async (c) => {
      const parts: Buffer[] = [];
      for (let num = 0; num < 64; num++) {
        const a = await c.request('GET', '/v1/device/identity', { extra: [blockOption(CoapOption.BLOCK2, { num, more: false, size: 16 })] });
        if (!a) return undefined;
        parts.push(a.payload);
        const block = a.options.find((o) => o.number === CoapOption.BLOCK2);
        if (!block || ((block.value[block.value.length - 1] ?? 0) & 0x08) === 0) break;
      }
      return { type: CoapType.ACK, code: 69, messageId: 0, token: Buffer.alloc(0), options: [], payload: Buffer.concat(parts) };
    }, expect: (a) => assert.equal(jsonOf(a)['certificateId'], 'hostile-but-admitted') },
    { name: 'a refused session: POST /v1/csr with a Block1 piece → 4.03 refusal, no block kept', refused: true, send: (c) => c.request('POST', '/v1/csr', { payload: Buffer.alloc(1024), extra: [blockOption(CoapOption.BLOCK1, { num: 0, more: true, size: 1024 })] }), expect: (a) => {
      answered('4.03', 'UNKNOWN_ISSUER')(a);
      assert.equal(api.server.coapStats().blockBytes, 0);
    } },
    { name: 'a refused session: /.well-known/core → 4.03 refusal', refused: true, send: (c) => c.request('GET', '/.well-known/core'), expect: answered('4.03', 'UNKNOWN_ISSUER') },
    { name: 'a refused session: an unknown critical option → still the refusal (options are not read)', refused: true, send: raw(con(GET, ['x'], [{ number: 35, value: Buffer.alloc(200, 0xff) }], Buffer.alloc(0), 20)), expect: answered('4.03', 'UNKNOWN_ISSUER') },
  ];

  for (const row of rows) {
    it(row.name, async () => {
      const client = await session(row.refused ? refusedCert : admittedCert);
      try {
        row.expect(await row.send(client));
      } finally {
        client.close();
      }
      await stillServes();
      // The server drops a session's blocks when the session ends.
      await new Promise((resolve) => setTimeout(resolve, 50));
    });
  }

  it('a duplicate confirmable request gets the same answer, not a second one (RFC 7252 §4.5)', async () => {
    const client = await session(admittedCert);
    try {
      const datagram = con(GET, ['v1', 'device', 'identity'], [], Buffer.alloc(0), 4242);
      client.sendRaw(datagram);
      const first = await client.receive();
      client.sendRaw(datagram);
      const second = await client.receive();
      assert.ok(first && second);
      assert.deepEqual(second, first);
      assert.equal(await client.receive(500), undefined);
    } finally {
      client.close();
    }
  });
});
