import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { makeDevice, makeRoot } from '@fleetpki/test-support';
import { pskIdentityIn } from '../src/gateway/dtls-psk-identity.js';
import { GOLIOTH_CIPHER_LIST } from '../src/gateway/dtls-server.js';
import { nativeDtls, type NativeHandle } from '../src/gateway/native-dtls.js';
import { clientHello } from './helpers/dtls-flood.js';
import { seededRandom } from './helpers/seeded-random.js';

/**
 * Bounded fuzzing of the addon's packet input (CI): mutated ClientHellos into the stateless
 * listener, mutated and random records into a session past its cookie exchange, and every input
 * into the PSK-identity reader. Longer runs: FLEETPKI_DTLS_FUZZ_ITERATIONS=1000000
 * FLEETPKI_DTLS_FUZZ_SECONDS=600 (and FLEETPKI_DTLS_FUZZ_SEED to replay one).
 */
const ITERATIONS = Number(process.env['FLEETPKI_DTLS_FUZZ_ITERATIONS'] ?? 200_000);
const MAX_MS = Number(process.env['FLEETPKI_DTLS_FUZZ_SECONDS'] ?? 15) * 1000;
const SEED = Number(process.env['FLEETPKI_DTLS_FUZZ_SEED'] ?? Date.now() % 2 ** 31);
const STATES = new Set(['listening', 'handshaking', 'established', 'closed', 'failed']);

function mutate(input: Buffer, random: () => number): Buffer {
  const out = Buffer.from(input);
  const kind = Math.floor(random() * 6);
  const at = Math.floor(random() * Math.max(1, out.length));
  switch (kind) {
    case 0: // flip bits
      for (let i = 0; i < 1 + random() * 8 && out.length > 0; i++) {
        const j = Math.floor(random() * out.length);
        out[j] = (out[j] as number) ^ (1 << Math.floor(random() * 8));
      }
      return out;
    case 1: // truncate
      return out.subarray(0, at);
    case 2: // a length field set to something else
      if (out.length >= 13) out.writeUInt16BE(Math.floor(random() * 0x10000), 11);
      if (out.length >= 25) out.writeUIntBE(Math.floor(random() * 0x1000000), 22, 3);
      return out;
    case 3: // two records in one datagram
      return Buffer.concat([out, out.subarray(0, at)]);
    case 4: // random tail
      return Buffer.concat([out.subarray(0, at), randomBytes(Math.floor(random() * 64))]);
    default: // random bytes with a plausible record header
      return Buffer.concat([Buffer.from([20 + Math.floor(random() * 5), 0xfe, 0xfd]), randomBytes(Math.floor(random() * 300))]);
  }
}

describe('DTLS addon: bounded fuzzing of packet input', () => {
  it(`survives ${ITERATIONS} mutated datagrams (or ${MAX_MS / 1000} s) with every result well-formed`, (t) => {
    t.diagnostic(`seed ${SEED}`);
    const native = nativeDtls();
    const root = makeRoot('/CN=Fuzz Root');
    const server = makeDevice(root, '/O=fuzz/CN=server');
    const context = native.createContext(Buffer.from(server.pem), Buffer.from(server.keyPem), GOLIOTH_CIPHER_LIST);
    const random = seededRandom(SEED);
    const cookie = randomBytes(32);
    const seeds = [clientHello(randomBytes(32)), clientHello(randomBytes(32), cookie)];
    const check = (result: { out: Buffer[]; data: Buffer[]; state: string }) => {
      assert.ok(STATES.has(result.state), `state ${result.state} (seed ${SEED})`);
      assert.ok(Array.isArray(result.out) && result.out.every((d) => Buffer.isBuffer(d) && d.length > 0));
    };
    let listener = native.createSession(context);
    let session: NativeHandle | undefined;
    const start = performance.now();
    let i = 0;
    let sessions = 0;
    let fed = 0;
    for (; i < ITERATIONS && performance.now() - start < MAX_MS; i++) {
      const input = mutate(seeds[Math.floor(random() * seeds.length)] as Buffer, random);
      const identity = pskIdentityIn(input);
      assert.ok(identity === undefined || identity === null || (typeof identity === 'string' && identity.length <= 128));
      if (!session || random() < 0.5) {
        const result = native.listen(listener, input, [cookie]);
        check(result);
        if (result.state !== 'listening') {
          // A mutation kept the cookie valid: the listener became a session; fuzz that next.
          if (session) native.free(session);
          sessions++;
          session = listener;
          listener = native.createSession(context);
        }
      } else {
        const result = native.feed(session, input);
        fed++;
        check(result);
        if (result.state === 'failed' || result.state === 'closed') {
          native.free(session);
          session = undefined;
        }
      }
    }
    // Still a working listener: a well-formed hello gets its HelloVerifyRequest.
    const hvr = native.listen(listener, clientHello(randomBytes(32)), [cookie]);
    assert.equal(hvr.state, 'listening');
    assert.equal(hvr.out.length, 1);
    assert.equal(hvr.out[0]?.[13], 3, 'hello_verify_request');
    if (session) native.free(session);
    native.free(listener);
    t.diagnostic(`${i} datagrams in ${Math.round(performance.now() - start)} ms; ${sessions} sessions past the cookie, ${fed} datagrams fed to them`);
    assert.ok(i >= Math.min(ITERATIONS, 1_000));
    assert.ok(sessions > 0 && fed > 0, 'the fuzzer reached sessions past the cookie exchange');
  });

  it('a ClientHello with a valid cookie starts a session: the server flight comes out (ServerHello … ServerHelloDone)', () => {
    const native = nativeDtls();
    const root = makeRoot('/CN=Fuzz Root 2');
    const server = makeDevice(root, '/O=fuzz/CN=server-2');
    const context = native.createContext(Buffer.from(server.pem), Buffer.from(server.keyPem), GOLIOTH_CIPHER_LIST);
    const listener = native.createSession(context);
    const cookie = randomBytes(32);
    const first = native.listen(listener, clientHello(randomBytes(32)), [cookie]);
    assert.equal(first.state, 'listening');
    assert.ok(first.out[0]?.includes(cookie), 'the HelloVerifyRequest carries the cookie JavaScript chose');
    const second = native.listen(listener, clientHello(randomBytes(32), cookie), [cookie]);
    assert.equal(second.state, 'handshaking');
    assert.equal(second.out[0]?.[13], 2, 'server_hello');
    assert.equal(native.pendingKeyExchange(listener), 'ecdhe');
    const wrong = native.createSession(context);
    assert.equal(native.listen(wrong, clientHello(randomBytes(32), randomBytes(32)), [cookie]).state, 'listening', 'a wrong cookie keeps no state');
    native.free(listener);
    native.free(wrong);
  });
});
