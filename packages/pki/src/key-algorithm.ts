import type { KeyObject } from 'node:crypto';
import { PkiError } from './errors.js';
import { Oid } from './oids.js';

export type EcCurve = 'P-256' | 'P-384' | 'P-521';

/** What a key is, as far as certificate profiles and policies care. */
export type KeyAlgorithm =
  | { readonly kind: 'ec'; readonly curve: EcCurve }
  | { readonly kind: 'rsa'; readonly bits: number }
  | { readonly kind: 'rsa-pss'; readonly bits: number }
  | { readonly kind: 'ed25519' }
  | { readonly kind: 'ed448' };

/** The key types fleetpki creates (DESIGN §2). */
export type KeySpec = { readonly kind: 'ec'; readonly curve: 'P-256' | 'P-384' } | { readonly kind: 'rsa'; readonly bits: 2048 | 3072 | 4096 };

const NODE_CURVES: Readonly<Record<string, EcCurve>> = {
  prime256v1: 'P-256',
  'P-256': 'P-256',
  secp384r1: 'P-384',
  'P-384': 'P-384',
  secp521r1: 'P-521',
  'P-521': 'P-521',
};

export const CURVE_OIDS: Readonly<Record<EcCurve, string>> = {
  'P-256': Oid.prime256v1,
  'P-384': Oid.secp384r1,
  'P-521': Oid.secp521r1,
};
export const EC_CURVES_BY_OID: Readonly<Record<string, EcCurve>> = {
  [Oid.prime256v1]: 'P-256',
  [Oid.secp384r1]: 'P-384',
  [Oid.secp521r1]: 'P-521',
};

export function describeKey(key: KeyObject): KeyAlgorithm {
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'ec': {
      const curve = NODE_CURVES[details.namedCurve ?? ''];
      if (!curve) {
        throw new PkiError('UNSUPPORTED_KEY_TYPE', `unsupported EC curve ${details.namedCurve ?? '(unknown)'}`, {
          curve: details.namedCurve,
        });
      }
      return { kind: 'ec', curve };
    }
    case 'rsa':
      return { kind: 'rsa', bits: details.modulusLength ?? 0 };
    case 'rsa-pss':
      return { kind: 'rsa-pss', bits: details.modulusLength ?? 0 };
    case 'ed25519':
      return { kind: 'ed25519' };
    case 'ed448':
      return { kind: 'ed448' };
    default:
      throw new PkiError('UNSUPPORTED_KEY_TYPE', `unsupported key type ${key.asymmetricKeyType ?? '(unknown)'}`, {
        keyType: key.asymmetricKeyType,
      });
  }
}

export function formatKeyAlgorithm(algorithm: KeyAlgorithm): string {
  switch (algorithm.kind) {
    case 'ec':
      return `EC ${algorithm.curve}`;
    case 'rsa':
      return `RSA ${algorithm.bits}`;
    case 'rsa-pss':
      return `RSA-PSS ${algorithm.bits}`;
    case 'ed25519':
      return 'Ed25519';
    case 'ed448':
      return 'Ed448';
  }
}
