import assert from 'node:assert/strict';
import { createCipheriv, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { CaKeyVault } from '../src/domain/authorities/index.js';
import { MasterKeySealer } from '../src/platform/master-key-sealer.js';
import { EnvelopeError, openFromBytes, openFromText, sealToBytes, sealToText } from '../src/platform/sealed-envelope.js';

/** A value sealed the way the two earlier implementations wrote it (AES-256-GCM, iv ‖ tag ‖ ciphertext). */
function sealedAsBefore(key: Buffer, plaintext: Buffer, context: string): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: 16 });
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), ciphertext]);
}

describe('the one sealing envelope under the master key', () => {
  const key = randomBytes(32);
  const secret = Buffer.from('a CA private key, or a pre-shared key');

  it('opens what the earlier CA key vault wrote (0x01 ‖ iv ‖ tag ‖ ciphertext)', () => {
    const stored = Buffer.concat([Buffer.from([1]), sealedAsBefore(key, secret, 'fleetpki-ca-key:ca-1')]);
    assert.deepEqual(new CaKeyVault(new MasterKeySealer(key)).open(stored, 'ca-1'), secret);
  });

  it('opens what the earlier master-key sealing wrote (v1. + base64)', () => {
    const stored = `v1.${sealedAsBefore(key, secret, 'psk:cred-1').toString('base64')}`;
    assert.deepEqual(new MasterKeySealer(key).openText(stored, 'psk:cred-1'), { ok: true, value: secret });
  });

  it('round-trips in both spellings', () => {
    assert.deepEqual(openFromBytes(key, sealToBytes(key, secret, 'c'), 'c'), secret);
    assert.deepEqual(openFromText(key, sealToText(key, secret, 'c'), 'c'), secret);
    const sealer = new MasterKeySealer(key);
    assert.deepEqual(sealer.openText(sealer.sealText(secret, 'c'), 'c'), { ok: true, value: secret });
    assert.deepEqual(sealer.openBytes(sealer.sealBytes(secret, 'c'), 'c'), { ok: true, value: secret });
    assert.deepEqual(new MasterKeySealer(randomBytes(32)).openText(sealer.sealText(secret, 'c'), 'c'), { ok: false, failure: 'key' });
    assert.deepEqual(sealer.openBytes(Buffer.from([9, 9]), 'c'), { ok: false, failure: 'format' });
  });

  const refusals: { name: string; open: () => unknown; failure: 'format' | 'key' }[] = [
    { name: 'another key', open: () => openFromBytes(randomBytes(32), sealToBytes(key, secret, 'c'), 'c'), failure: 'key' },
    { name: 'another context (a value moved to another row)', open: () => openFromText(key, sealToText(key, secret, 'row-1'), 'row-2'), failure: 'key' },
    { name: 'one changed byte', open: () => { const s = sealToBytes(key, secret, 'c'); s[s.length - 1] = (s[s.length - 1] as number) ^ 1; return openFromBytes(key, s, 'c'); }, failure: 'key' },
    { name: 'an unknown version octet', open: () => openFromBytes(key, Buffer.concat([Buffer.from([2]), sealToBytes(key, secret, 'c').subarray(1)]), 'c'), failure: 'format' },
    { name: 'text without the v1. prefix', open: () => openFromText(key, sealToText(key, secret, 'c').slice(3), 'c'), failure: 'format' },
    { name: 'a truncated envelope', open: () => openFromBytes(key, Buffer.from([1, 2, 3]), 'c'), failure: 'format' },
  ];
  for (const r of refusals) {
    it(`refuses ${r.name} (${r.failure})`, () => {
      assert.throws(r.open, (error: unknown) => error instanceof EnvelopeError && error.failure === r.failure);
    });
  }

  it('the vault says CA_KEY_UNAVAILABLE for a key that does not open', () => {
    const sealed = new CaKeyVault(new MasterKeySealer(key)).seal(secret, 'ca-1');
    assert.throws(() => new CaKeyVault(new MasterKeySealer(randomBytes(32))).open(sealed, 'ca-1'), (error: unknown) => (error as { code?: string }).code === 'CA_KEY_UNAVAILABLE');
  });
});
