import assert from 'node:assert/strict';
import { createCipheriv, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { CaKeyVault } from '../src/domain/authorities/index.js';
import { MasterKeyRing } from '../src/platform/master-key-ring.js';
import { MasterKeySealer } from '../src/platform/master-key-sealer.js';
import type { MasterKeySource } from '../src/platform/master-key.js';
import { EnvelopeError, envelopeKey, partsOfBytes, partsOfText, sealToBytes, sealToText, type EnvelopeKey } from '../src/platform/sealed-envelope.js';

/** A ring that a test changes under the sealer, as a rotation changes the key file. */
function ringSource(...secrets: Buffer[]): MasterKeySource & { set(...secrets: Buffer[]): void } {
  let ring = new MasterKeyRing(secrets.map(envelopeKey));
  return { kind: 'file', location: 'test', ring: () => ring, set: (...next) => void (ring = new MasterKeyRing(next.map(envelopeKey))) };
}
const sealerOf = (...secrets: Buffer[]) => new MasterKeySealer(ringSource(...secrets));
const openFromBytes = (key: EnvelopeKey, sealed: Buffer, context: string) => new MasterKeyRing([key]).open(partsOfBytes(sealed), context);
const openFromText = (key: EnvelopeKey, sealed: string, context: string) => new MasterKeyRing([key]).open(partsOfText(sealed), context);

/** A value sealed the way the two earlier implementations wrote it (AES-256-GCM, iv ‖ tag ‖ ciphertext). */
function sealedAsBefore(key: Buffer, plaintext: Buffer, context: string): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: 16 });
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), ciphertext]);
}

describe('the one sealing envelope under the master key', () => {
  const raw = randomBytes(32);
  const key = envelopeKey(raw);
  const secret = Buffer.from('a CA private key, or a pre-shared key');

  it('opens what the earlier CA key vault wrote (0x01 ‖ iv ‖ tag ‖ ciphertext)', () => {
    const stored = Buffer.concat([Buffer.from([1]), sealedAsBefore(raw, secret, 'fleetpki-ca-key:ca-1')]);
    assert.deepEqual(new CaKeyVault(sealerOf(raw)).open(stored, 'ca-1'), secret);
  });

  it('opens what the earlier master-key sealing wrote (v1. + base64)', () => {
    const stored = `v1.${sealedAsBefore(raw, secret, 'psk:cred-1').toString('base64')}`;
    assert.deepEqual(sealerOf(raw).openText(stored, 'psk:cred-1'), { ok: true, value: secret });
  });

  it('round-trips in both spellings', () => {
    assert.deepEqual(openFromBytes(key, sealToBytes(key, secret, 'c'), 'c'), secret);
    assert.deepEqual(openFromText(key, sealToText(key, secret, 'c'), 'c'), secret);
    const sealer = sealerOf(raw);
    assert.deepEqual(sealer.openText(sealer.sealText(secret, 'c'), 'c'), { ok: true, value: secret });
    assert.deepEqual(sealer.openBytes(sealer.sealBytes(secret, 'c'), 'c'), { ok: true, value: secret });
    assert.deepEqual(sealerOf(randomBytes(32)).openText(sealer.sealText(secret, 'c'), 'c'), { ok: false, failure: 'key' });
    assert.deepEqual(sealer.openBytes(Buffer.from([9, 9]), 'c'), { ok: false, failure: 'format' });
  });

  const refusals: { name: string; open: () => unknown; failure: 'format' | 'key' }[] = [
    { name: 'another key', open: () => openFromBytes(envelopeKey(randomBytes(32)), sealToBytes(key, secret, 'c'), 'c'), failure: 'key' },
    { name: 'another context (a value moved to another row)', open: () => openFromText(key, sealToText(key, secret, 'row-1'), 'row-2'), failure: 'key' },
    { name: 'one changed byte', open: () => { const s = sealToBytes(key, secret, 'c'); s[s.length - 1] = (s[s.length - 1] as number) ^ 1; return openFromBytes(key, s, 'c'); }, failure: 'key' },
    { name: 'an unknown version octet', open: () => openFromBytes(key, Buffer.concat([Buffer.from([3]), sealToBytes(key, secret, 'c').subarray(1)]), 'c'), failure: 'format' },
    { name: 'text without the v2. prefix', open: () => openFromText(key, sealToText(key, secret, 'c').slice(3), 'c'), failure: 'format' },
    { name: 'a value naming a key the ring does not hold', open: () => openFromText(key, sealToText(envelopeKey(randomBytes(32)), secret, 'c'), 'c'), failure: 'key' },
    { name: 'a truncated envelope', open: () => openFromBytes(key, Buffer.from([1, 2, 3]), 'c'), failure: 'format' },
  ];
  for (const r of refusals) {
    it(`refuses ${r.name} (${r.failure})`, () => {
      assert.throws(r.open, (error: unknown) => error instanceof EnvelopeError && error.failure === r.failure);
    });
  }

  it('the vault says CA_KEY_UNAVAILABLE for a key that does not open', () => {
    const sealed = new CaKeyVault(sealerOf(raw)).seal(secret, 'ca-1');
    assert.throws(() => new CaKeyVault(sealerOf(randomBytes(32))).open(sealed, 'ca-1'), (error: unknown) => (error as { code?: string }).code === 'CA_KEY_UNAVAILABLE');
  });
  it('names the sealing key: v2 bytes carry its 8-octet id, v2 text its 16 hex digits', () => {
    assert.match(key.id, /^[0-9a-f]{16}$/);
    assert.equal(partsOfBytes(sealToBytes(key, secret, 'c')).keyId, key.id);
    assert.match(sealToText(key, secret, 'c'), new RegExp(`^v2\\.${key.id}\\.`));
    assert.equal(partsOfText(`v1.${sealedAsBefore(raw, secret, 'c').toString('base64')}`).keyId, undefined);
    assert.notEqual(envelopeKey(randomBytes(32)).id, key.id);
  });

  it('a ring opens each value with the key it names, and a v1 value with whichever key opens it', () => {
    const older = randomBytes(32);
    const ring = new MasterKeyRing([key, envelopeKey(older)]);
    assert.deepEqual(ring.open(partsOfText(sealToText(envelopeKey(older), secret, 'c')), 'c'), secret);
    assert.deepEqual(ring.open(partsOfBytes(Buffer.concat([Buffer.from([1]), sealedAsBefore(older, secret, 'c')])), 'c'), secret);
    assert.throws(() => new MasterKeyRing([key, key]), /each key once/);
  });

  it('a sealer follows its ring as a rotation changes it: seals under the new first key, asks again for a key it has not read, keeps keys it has read', () => {
    const newer = randomBytes(32);
    const source = ringSource(raw);
    const sealer = new MasterKeySealer(source);
    const underOld = sealer.sealText(secret, 'c');
    // Another server put the new key first and sealed under it: this sealer has not read the ring since.
    const underNew = sealerOf(newer, raw).sealText(secret, 'c');
    source.set(newer, raw);
    assert.deepEqual(sealer.openText(underNew, 'c'), { ok: true, value: secret });
    assert.equal(partsOfText(sealer.sealText(secret, 'c')).keyId, envelopeKey(newer).id);
    // The old key retired from the ring: a value this server read before still opens here.
    source.set(newer);
    assert.deepEqual(sealer.openText(underOld, 'c'), { ok: true, value: secret });
    assert.deepEqual(sealerOf(newer).openText(underOld, 'c'), { ok: false, failure: 'key' });
  });
});
