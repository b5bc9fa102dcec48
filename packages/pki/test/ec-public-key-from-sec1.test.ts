import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { ecPublicKeyFromSec1, isPkiError, type PkiErrorCode } from '../src/index.js';

/** The SPKI rebuilt from a SEC1 key must be exactly the DER Node's encoder writes. */
describe('ecPublicKeyFromSec1', () => {
  for (const curve of ['P-256', 'P-384', 'P-521'] as const) {
    it(`${curve}: equals Node's SPKI export`, () => {
      // Many keys: a coordinate with leading zero octets (about 1 key in 128) must keep its length.
      for (let i = 0; i < 64; i++) {
        const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: curve });
        const info = ecPublicKeyFromSec1(privateKey.export({ format: 'der', type: 'sec1' }));
        assert.deepEqual(info.der, publicKey.export({ format: 'der', type: 'spki' }));
        assert.deepEqual(info.algorithm, { kind: 'ec', curve });
      }
    });
  }

  const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const sec1 = p256.export({ format: 'der', type: 'sec1' });
  const withoutPublicKey = (() => {
    // SEQUENCE { INTEGER 1, OCTET STRING d, [0] curve } — RFC 5915 makes [1] optional.
    const d = sec1.subarray(7, 7 + 32);
    const curve = Buffer.from('a00a06082a8648ce3d030107', 'hex');
    const body = Buffer.concat([Buffer.from([0x02, 0x01, 0x01, 0x04, 0x20]), d, curve]);
    return Buffer.concat([Buffer.from([0x30, body.length]), body]);
  })();
  const refusals: readonly { name: string; input: Buffer; code: PkiErrorCode }[] = [
    { name: 'a PKCS#8 key', input: p256.export({ format: 'der', type: 'pkcs8' }), code: 'KEY_MALFORMED' },
    { name: 'a SEC1 key without its public key', input: withoutPublicKey, code: 'KEY_MALFORMED' },
    { name: 'trailing data', input: Buffer.concat([sec1, Buffer.from([0])]), code: 'DER_TRAILING_DATA' },
  ];
  for (const refusal of refusals) {
    it(`refuses ${refusal.name} with ${refusal.code}`, () => {
      assert.throws(() => ecPublicKeyFromSec1(refusal.input), (err: unknown) => isPkiError(err) && err.code === refusal.code);
    });
  }
});
