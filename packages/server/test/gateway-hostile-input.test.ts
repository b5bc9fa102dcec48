import assert from 'node:assert/strict';
import { request } from 'node:https';
import { after, before, describe, it } from 'node:test';
import { makeDevice, makeRoot } from '@fleetpki/test-support';
import { MAX_INBOUND_QOS2_PER_CONNECTION, MAX_RETAINED_TOPICS_PER_DEVICE, MAX_SUBSCRIPTIONS_PER_CONNECTION, MAX_TOPIC_BYTES } from '../src/gateway/device-mqtt.js';
import { MAX_MQTT_PACKET_BYTES } from '../src/gateway/mqtt-packet-bound.js';
import { startTestApi, type TestApi } from './helpers/api.js';
import { base64 } from './helpers/base64.js';
import { connectPacket, rawMqttSession } from './helpers/mqtt-clients.js';
import { rawExchange, type RawAnswer, type RawTarget } from './helpers/raw-exchange.js';

/**
 * A hostile-input table per listener (issue 14): malformed, oversize, multi-byte, truncated and
 * out-of-order input to the management API, the device HTTPS gateway and its EST and rotation
 * routes, MQTT before and after CONNECT, and the PKI routes. After every row the process still
 * answers a health request and a good device still authenticates over HTTPS and MQTT.
 * (CoAP/DTLS has its own table: gateway-coap-hostile.test.ts.)
 */

const http = (lines: string[], body: Buffer | string = ''): Buffer => Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), Buffer.from(body)]);
const latin1 = (bytes: Buffer): string => bytes.toString('latin1');
/** An MQTT PUBLISH (3.1.1 §3.3) at QoS 0. */
function publish(topic: string, payload: Buffer, first = 0x30): Buffer {
  const name = Buffer.from(topic, 'utf8');
  const body = Buffer.concat([Buffer.from([name.length >> 8, name.length & 0xff]), name, payload]);
  return Buffer.concat([Buffer.from([first]), remainingLength(body.length), body]);
}
function remainingLength(n: number): Buffer {
  const out: number[] = [];
  let x = n;
  do {
    let byte = x % 128;
    x = Math.floor(x / 128);
    if (x > 0) byte |= 0x80;
    out.push(byte);
  } while (x > 0);
  return Buffer.from(out);
}

/** An MQTT 3.1.1 SUBSCRIBE (§3.8) of QoS 0 filters, packet ID 1. */
function subscribe(filters: readonly string[]): Buffer {
  const body = Buffer.concat([Buffer.from([0x00, 0x01]), ...filters.map((f) => { const t = Buffer.from(f, 'utf8'); return Buffer.concat([Buffer.from([t.length >> 8, t.length & 0xff]), t, Buffer.from([0x00])]); })]);
  return Buffer.concat([Buffer.from([0x82]), remainingLength(body.length), body]);
}
/** A QoS 2 PUBLISH (§3.3) with its packet ID. */
function publishQos2(topic: string, packetId: number): Buffer {
  const name = Buffer.from(topic, 'utf8');
  const body = Buffer.concat([Buffer.from([name.length >> 8, name.length & 0xff]), name, Buffer.from([packetId >> 8, packetId & 0xff]), Buffer.from('x')]);
  return Buffer.concat([Buffer.from([0x34]), remainingLength(body.length), body]);
}
/** The return codes of the SUBACK among the bytes a session received. */
function subackCodes(bytes: Buffer): number[] {
  const at = bytes.indexOf(0x90, 4);
  if (at < 0) return [];
  let length = 0;
  let multiplier = 1;
  let i = at + 1;
  for (;;) {
    const byte = bytes[i++] as number;
    length += (byte & 0x7f) * multiplier;
    multiplier *= 128;
    if ((byte & 0x80) === 0) break;
  }
  return [...bytes.subarray(i + 2, i + length)];
}

interface Row {
  readonly name: string;
  /** Checks made after the exchange (a second connection, say). */
  readonly after?: () => Promise<void>;
  readonly target: () => RawTarget;
  readonly writes: () => Buffer[];
  readonly expect: (answer: RawAnswer) => void;
  readonly ms?: number;
  /** Half-close after writing (a client that stops mid-request). */
  readonly end?: boolean;
}

describe('hostile input to every TCP listener; the server serves on after each', () => {
  let api: TestApi;
  let ca: string;
  const root = makeRoot('/CN=Hostile TCP Root');
  const good = makeDevice(root, '/O=acme/CN=good-tcp');
  const other = makeDevice(root, '/O=acme/CN=mqtt-hostile');
  let mgmt: RawTarget;
  let gateway: RawTarget;
  let anonymousGateway: RawTarget;
  let mqtt: RawTarget;

  /** GET /v1/device/identity with the good device's certificate: its status and certificate ID. */
  const deviceIdentity = () =>
    new Promise<{ status: number; certificateId: unknown }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: gateway.port, servername: 'localhost', path: '/v1/device/identity', ca, cert: good.pem, key: good.keyPem, agent: false }, (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, certificateId: (JSON.parse(text) as Record<string, unknown>)['certificateId'] }));
      });
      req.on('error', reject);
      req.end();
    });

  const stillServes = async () => {
    assert.equal((await api.call('GET', '/v1/server-ca', { key: null })).status, 200);
    assert.deepEqual(await deviceIdentity(), { status: 200, certificateId: 'good-tcp' });
    const session = await rawMqttSession(api.server.mqttUrl, ca, good.pem, good.keyPem, 'good-tcp');
    assert.equal(session.returnCode, 0);
    session.socket.destroy();
  };

  before(async () => {
    api = await startTestApi('sqlite');
    assert.equal((await api.call('POST', '/v1/projects', { json: { name: 'acme', slug: 'acme' } })).status, 201);
    assert.equal((await api.call('POST', '/v1/projects/acme/certificates', { json: { certFile: base64(root.pem) } })).status, 201);
    assert.equal((await api.call('POST', '/v1/projects/acme/pki/cas', { json: { mode: 'generate' } })).status, 201);
    ca = (await api.call('GET', '/v1/server-ca', { key: null })).text;
    mgmt = { port: Number(new URL(api.server.httpUrl).port) };
    gateway = { port: Number(new URL(api.server.gatewayUrl).port), tls: { ca, cert: good.pem, key: good.keyPem } };
    anonymousGateway = { port: gateway.port, tls: { ca } };
    mqtt = { port: Number(new URL(api.server.mqttUrl.replace('mqtts:', 'https:')).port), tls: { ca, cert: other.pem, key: other.keyPem } };
  });
  after(() => api.close());

  const answered = (status: number, code?: string) => (a: RawAnswer) => {
    assert.equal(a.status, status, latin1(a.bytes).slice(0, 300));
    if (code) assert.equal(a.code, code, latin1(a.bytes).slice(0, 600));
  };
  const answered4xx = (a: RawAnswer) => assert.ok(a.status !== undefined && a.status >= 400 && a.status < 500, latin1(a.bytes).slice(0, 300));
  const cut = (a: RawAnswer) => assert.equal(a.closed, true, 'the server closed the connection');
  const key = () => api.adminKey;

  const rows: Row[] = [
    // Management API (plain HTTP on --http-port).
    { name: 'management: a 400-byte path of 0x80 bytes', target: () => mgmt, writes: () => [http([`GET /v1/${latin1(Buffer.alloc(400, 0x80))} HTTP/1.1`, 'Host: x', 'Connection: close'])], expect: answered4xx },
    { name: 'management: percent-encoded invalid UTF-8 and NUL in a path parameter', target: () => mgmt, writes: () => [http(['GET /v1/projects/%ff%fe%00/devices HTTP/1.1', 'Host: x', `x-api-key: ${key()}`, 'Connection: close'])], expect: answered4xx },
    { name: 'management: a 100 KB header', target: () => mgmt, writes: () => [http(['GET /v1/projects HTTP/1.1', 'Host: x', `x-pad: ${'a'.repeat(100_000)}`, 'Connection: close'])], expect: answered(431) },
    { name: 'management: a chunked body with a chunk size that is no number', target: () => mgmt, writes: () => [http(['POST /v1/projects HTTP/1.1', 'Host: x', `x-api-key: ${key()}`, 'Content-Type: application/json', 'Transfer-Encoding: chunked'], 'zz\r\n{}\r\n0\r\n\r\n')], expect: answered(400) },
    { name: 'management: a declared body of 10 GB', target: () => mgmt, writes: () => [http(['POST /v1/projects HTTP/1.1', 'Host: x', `x-api-key: ${key()}`, 'Content-Type: application/json', 'Content-Length: 10000000000', 'Connection: close'], '{')], expect: answered(413, 'BODY_TOO_LARGE') },
    { name: 'management: JSON with invalid UTF-8', target: () => mgmt, writes: () => { const body = Buffer.from('{"name":"\xff\xfe","slug":"bad-utf8"}', 'latin1'); return [http(['POST /v1/projects HTTP/1.1', 'Host: x', `x-api-key: ${key()}`, 'Content-Type: application/json', `Content-Length: ${body.length}`, 'Connection: close'], body)]; }, expect: answered(400, 'MALFORMED_JSON') },
    { name: 'management: 500 KB of nested arrays', target: () => mgmt, writes: () => [http(['POST /v1/projects HTTP/1.1', 'Host: x', `x-api-key: ${key()}`, 'Content-Type: application/json', `Content-Length: ${500_000}`, 'Connection: close'], '['.repeat(500_000))], expect: answered(400, 'MALFORMED_JSON') },
    { name: 'management: a request cut off inside its headers', target: () => mgmt, writes: () => [Buffer.from('POST /v1/projects HTTP/1.1\r\nHost: x\r\nContent-Le')], end: true, expect: () => undefined },
    { name: 'management: a body shorter than its Content-Length, then silence', target: () => mgmt, writes: () => [http(['POST /v1/projects HTTP/1.1', 'Host: x', `x-api-key: ${key()}`, 'Content-Type: application/json', 'Content-Length: 100'], '{"name":')], end: true, expect: () => undefined },
    // Device HTTPS gateway (mTLS on --gateway-port).
    { name: 'gateway: a 400-byte path of 0x80 bytes', target: () => gateway, writes: () => [http([`GET /v1/${latin1(Buffer.alloc(400, 0x80))} HTTP/1.1`, 'Host: x', 'Connection: close'])], expect: answered4xx },
    { name: 'gateway: a 100 KB header', target: () => gateway, writes: () => [http(['GET /v1/device/identity HTTP/1.1', 'Host: x', `x-pad: ${'a'.repeat(100_000)}`, 'Connection: close'])], expect: answered(431) },
    { name: 'gateway: POST /v1/csr declaring 100 MB', target: () => gateway, writes: () => [http(['POST /v1/csr HTTP/1.1', 'Host: x', 'Content-Type: application/pkcs10', 'Content-Length: 100000000', 'Connection: close'], 'x')], expect: answered(413, 'BODY_TOO_LARGE') },
    { name: 'gateway: POST /v1/csr chunked past the CSR limit', target: () => gateway, writes: () => [http(['POST /v1/csr HTTP/1.1', 'Host: x', 'Content-Type: application/pkcs10', 'Transfer-Encoding: chunked', 'Connection: close']), ...Array.from({ length: 40 }, () => Buffer.from(`400\r\n${'A'.repeat(1024)}\r\n`))], expect: answered(413, 'BODY_TOO_LARGE') },
    { name: 'gateway: POST /v1/csr with a chunk size that is no number', target: () => gateway, writes: () => [http(['POST /v1/csr HTTP/1.1', 'Host: x', 'Transfer-Encoding: chunked'], 'zz\r\nxx\r\n0\r\n\r\n')], expect: answered(400) },
    { name: 'gateway: POST /v1/csr of random bytes', target: () => gateway, writes: () => [http(['POST /v1/csr HTTP/1.1', 'Host: x', 'Content-Type: application/pkcs10', 'Content-Length: 64', 'Connection: close'], Buffer.alloc(64, 0xc3))], expect: answered4xx },
    { name: 'gateway: pipelined garbage after a good request', target: () => gateway, writes: () => [Buffer.concat([http(['GET /v1/device/identity HTTP/1.1', 'Host: x']), Buffer.from('\x00\x01\x02 GARBAGE\r\n\r\n', 'latin1')])], expect: (a) => assert.match(latin1(a.bytes), /^HTTP\/1\.1 (200|400)/) },
    { name: 'gateway: a request cut off inside its body', target: () => gateway, writes: () => [http(['POST /v1/csr HTTP/1.1', 'Host: x', 'Content-Length: 500'], 'MIIB')], end: true, expect: () => undefined },
    // EST routes on the gateway.
    { name: 'EST: simpleenroll without credentials, a body of invalid base64', target: () => anonymousGateway, writes: () => [http(['POST /.well-known/est/acme/simpleenroll HTTP/1.1', 'Host: x', 'Content-Type: application/pkcs10', 'Content-Length: 12', 'Connection: close'], '!!!not b64!!')], expect: answered4xx },
    { name: 'EST: simpleenroll with a token of multi-byte characters', target: () => anonymousGateway, writes: () => [http(['POST /.well-known/est/acme/simpleenroll HTTP/1.1', 'Host: x', `Authorization: Basic ${Buffer.from(`d:${'\u4e00'.repeat(300)}`).toString('base64')}`, 'Content-Length: 4', 'Connection: close'], 'AAAA')], expect: answered4xx },
    { name: 'EST: simpleenroll declaring a body past its limit', target: () => anonymousGateway, writes: () => [http(['POST /.well-known/est/acme/simpleenroll HTTP/1.1', 'Host: x', 'Authorization: Basic ZDpl', 'Content-Length: 50000000', 'Connection: close'], 'AAAA')], expect: answered(413, 'BODY_TOO_LARGE') },
    { name: 'EST: cacerts of a label that is no slug (multi-byte)', target: () => anonymousGateway, writes: () => [http([`GET /.well-known/est/${encodeURIComponent('\u4e00\u4e01')}/cacerts HTTP/1.1`, 'Host: x', 'Connection: close'])], expect: answered4xx },
    // PKI routes of the management API.
    { name: 'PKI: issue with a CSR field past its bound', target: () => mgmt, writes: () => { const body = JSON.stringify({ csr: 'A'.repeat(70_000) }); return [http(['POST /v1/projects/acme/pki/issue HTTP/1.1', 'Host: x', `x-api-key: ${key()}`, 'Content-Type: application/json', `Content-Length: ${body.length}`, 'Connection: close'], body)]; }, expect: answered(400, 'VALIDATION_FAILED') },
    { name: 'PKI: issue with a CSR of multi-byte text', target: () => mgmt, writes: () => { const body = Buffer.from(JSON.stringify({ csr: '\u4e00'.repeat(2000) })); return [http(['POST /v1/projects/acme/pki/issue HTTP/1.1', 'Host: x', `x-api-key: ${key()}`, 'Content-Type: application/json', `Content-Length: ${body.length}`, 'Connection: close'], body)]; }, expect: answered(400, 'CSR_INVALID_BASE64') },
    { name: 'PKI: issue with a body that is not UTF-8 (the fast path)', target: () => mgmt, writes: () => { const body = Buffer.from('{"csr":"\xc3\x28"}', 'latin1'); return [http(['POST /v1/projects/acme/pki/issue HTTP/1.1', 'Host: x', `x-api-key: ${key()}`, 'Content-Type: application/json', `Content-Length: ${body.length}`, 'Connection: close'], body)]; }, expect: answered(400, 'MALFORMED_JSON') },
    { name: 'PKI: issue with a CSR past 16 KiB (in bounds for the JSON field)', target: () => mgmt, writes: () => { const body = JSON.stringify({ csr: Buffer.alloc(20_000, 0x30).toString('base64') }); return [http(['POST /v1/projects/acme/pki/issue HTTP/1.1', 'Host: x', `x-api-key: ${key()}`, 'Content-Type: application/json', `Content-Length: ${body.length}`, 'Connection: close'], body)]; }, expect: answered(413, 'BODY_TOO_LARGE') },
    { name: 'PKI: a managed CA of an unknown mode', target: () => mgmt, writes: () => { const body = JSON.stringify({ mode: 'steal' }); return [http(['POST /v1/projects/acme/pki/cas HTTP/1.1', 'Host: x', `x-api-key: ${key()}`, 'Content-Type: application/json', `Content-Length: ${body.length}`, 'Connection: close'], body)]; }, expect: answered(400, 'VALIDATION_FAILED') },
    { name: 'PKI: enrollment tokens, a count of 10^12', target: () => mgmt, writes: () => { const body = JSON.stringify({ count: 1e12 }); return [http(['POST /v1/projects/acme/pki/enrollment-tokens HTTP/1.1', 'Host: x', `x-api-key: ${key()}`, 'Content-Type: application/json', `Content-Length: ${body.length}`, 'Connection: close'], body)]; }, expect: answered(400, 'VALIDATION_FAILED') },
    // MQTT over TLS, before CONNECT.
    { name: 'MQTT: PUBLISH before CONNECT', target: () => mqtt, writes: () => [publish('acme/mqtt-hostile/x', Buffer.from('hi'))], expect: cut },
    { name: 'MQTT: a CONNECT declaring 256 MiB', target: () => mqtt, writes: () => [Buffer.from([0x10, 0xff, 0xff, 0xff, 0x7f]), Buffer.alloc(64 * 1024)], expect: cut },
    { name: 'MQTT: a remaining length of five bytes', target: () => mqtt, writes: () => [Buffer.from([0x10, 0x80, 0x80, 0x80, 0x80, 0x01])], expect: cut },
    { name: 'MQTT: a CONNECT cut off inside its fixed header', target: () => mqtt, writes: () => [Buffer.from([0x10, 0x80])], end: true, expect: cut },
    { name: 'MQTT: a CONNECT whose client ID is invalid UTF-8', target: () => mqtt, writes: () => [Buffer.concat([Buffer.from([0x10, 16, 0x00, 0x04]), Buffer.from('MQTT'), Buffer.from([0x04, 0x02, 0x00, 0x3c, 0x00, 0x04, 0xff, 0xfe, 0xc3, 0x28])])], expect: cut },
    // MQTT after CONNECT.
    { name: 'MQTT: after CONNECT, a PUBLISH declaring 10 MB', target: () => mqtt, writes: () => [connectPacket('mqtt-hostile'), Buffer.concat([Buffer.from([0x30]), remainingLength(10_000_000), Buffer.alloc(32 * 1024)])], expect: cut },
    { name: `MQTT: after CONNECT, a PUBLISH just past ${MAX_MQTT_PACKET_BYTES} bytes`, target: () => mqtt, writes: () => [connectPacket('mqtt-hostile'), publish('acme/mqtt-hostile/big', Buffer.alloc(MAX_MQTT_PACKET_BYTES))], expect: cut },
    { name: 'MQTT: after CONNECT, a second CONNECT', target: () => mqtt, writes: () => [connectPacket('mqtt-hostile'), connectPacket('mqtt-hostile')], expect: cut },
    { name: 'MQTT: after CONNECT, a PUBLISH to another device’s topic in multi-byte characters', target: () => mqtt, writes: () => [connectPacket('mqtt-hostile'), publish('acme/\u4e00\u4e01/\u{1f600}', Buffer.from('x'))], expect: cut },
    { name: 'MQTT: after CONNECT, a packet of reserved type 0', target: () => mqtt, writes: () => [connectPacket('mqtt-hostile'), Buffer.from([0x00, 0x00])], expect: cut },
    {
      name: `MQTT: 150 filters in one SUBSCRIBE: the first ${MAX_SUBSCRIPTIONS_PER_CONNECTION} granted, the rest 0x80`,
      target: () => mqtt,
      writes: () => [connectPacket('mqtt-hostile'), subscribe(Array.from({ length: 150 }, (_, i) => `acme/mqtt-hostile/f${i}`))],
      expect: (a) => assert.deepEqual(subackCodes(a.bytes), [...Array<number>(MAX_SUBSCRIPTIONS_PER_CONNECTION).fill(0), ...Array<number>(150 - MAX_SUBSCRIPTIONS_PER_CONNECTION).fill(0x80)]),
    },
    { name: `MQTT: retained messages under ${MAX_RETAINED_TOPICS_PER_DEVICE + 1} topics end the session`, target: () => mqtt, writes: () => [connectPacket('mqtt-hostile'), ...Array.from({ length: MAX_RETAINED_TOPICS_PER_DEVICE + 1 }, (_, i) => publish(`acme/mqtt-hostile/r${i}`, Buffer.from('x'), 0x31))], expect: cut },
    { name: `MQTT: a topic of ${MAX_TOPIC_BYTES + 11} bytes under its own prefix ends the session`, target: () => mqtt, writes: () => [connectPacket('mqtt-hostile'), publish(`acme/mqtt-hostile/${'t'.repeat(MAX_TOPIC_BYTES)}`, Buffer.from('x'))], expect: cut },
    { name: 'MQTT: a topic holding U+0000 ends the session (MQTT-1.5.3-2)', target: () => mqtt, writes: () => [connectPacket('mqtt-hostile'), publish('acme/mqtt-hostile/a\u0000b', Buffer.from('x'))], expect: cut },
    { name: `MQTT: ${MAX_INBOUND_QOS2_PER_CONNECTION + 1} QoS 2 publications awaiting PUBREL end the session`, target: () => mqtt, writes: () => [connectPacket('mqtt-hostile'), ...Array.from({ length: MAX_INBOUND_QOS2_PER_CONNECTION + 1 }, (_, i) => publishQos2('acme/mqtt-hostile/q', i + 1))], expect: cut },
    {
      name: 'MQTT: a persistent session (clean session 0) is not kept: session present is 0 on the next CONNECT',
      target: () => mqtt,
      writes: () => [connectPacket('mqtt-hostile', false), subscribe(['acme/mqtt-hostile/#', '#'])],
      expect: () => undefined,
      after: async () => {
        const again = await rawExchange(mqtt, [connectPacket('mqtt-hostile', false)], 1_500);
        assert.equal(again.bytes[0], 0x20, again.bytes.toString('hex'));
        assert.equal(again.bytes[2], 0x00, 'session present must be 0');
        assert.equal(again.bytes[3], 0x00, 'CONNACK accepted');
      },
    },
  ];

  for (const row of rows) {
    it(row.name, async () => {
      const answer = await rawExchange(row.target(), row.writes(), row.ms ?? 3_000, row.end ?? false);
      row.expect(answer);
      await row.after?.();
      await stillServes();
    });
  }
});
