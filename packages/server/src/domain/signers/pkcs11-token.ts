import { createHash, createPublicKey } from 'node:crypto';
import { ecdsaSignatureToDer, signingAlgorithmFor, type Signer } from '@fleetpki/pki';
import type * as Pkcs11Js from 'pkcs11js';
import { ServiceError } from '../../service-error.js';
import { StartupError } from '../../startup-error.js';
import type { KeyToken } from '../authorities/key-token.js';

export interface Pkcs11Options {
  /** The token's PKCS#11 module (SoftHSM2: /usr/lib/softhsm/libsofthsm2.so). */
  readonly module: string;
  /** The token label, as `softhsm2-util --init-token --label` set it. */
  readonly tokenLabel: string;
  readonly pin: string;
}

/** DER OID of prime256v1 (RFC 5480 §2.1.1.1), the CKA_EC_PARAMS of the keys we generate. */
const P256_PARAMS = Buffer.from('06082a8648ce3d030107', 'hex');
/** Bound on slots looked through for the token. */
const MAX_SLOTS = 256;
/** The algorithm identifiers for an EC P-256 key, taken from Node for a throwaway public key of that curve. */
const P256_ALGORITHM = signingAlgorithmFor(
  createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: 'MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4', y: '4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM' }, format: 'jwk' }),
);

// pkcs11js is CommonJS built by node-gyp: loaded only when a token is configured, so a server
// without one never loads the native module.
type Pkcs11Module = typeof Pkcs11Js;

/**
 * Managed CA keys inside a PKCS#11 token through pkcs11js (a maintained binding of the
 * PKCS#11 2.40 C API): keys are generated in the token as sensitive and non-extractable
 * (PKCS#11 §4.9), so the server holds only handles; signing hashes here and asks the token
 * for a raw ECDSA signature (CKM_ECDSA), re-encoded as X.509 wants it.
 */
export async function openPkcs11Token(options: Pkcs11Options): Promise<KeyToken> {
  let lib: Pkcs11Module;
  try {
    lib = ((await import('pkcs11js')) as unknown as { default: Pkcs11Module }).default;
  } catch (error) {
    throw new StartupError('INVALID_OPTION', `the PKCS#11 binding (pkcs11js) is not installed: ${(error as Error).message}`);
  }
  const p11 = new lib.PKCS11();
  try {
    p11.load(options.module);
    p11.C_Initialize();
  } catch (error) {
    throw new StartupError('INVALID_OPTION', `cannot load the PKCS#11 module ${options.module}: ${(error as Error).message}`);
  }
  let session: Buffer;
  try {
    const slot = p11
      .C_GetSlotList(true)
      .slice(0, MAX_SLOTS)
      .find((s) => p11.C_GetTokenInfo(s).label.trim() === options.tokenLabel);
    if (!slot) throw new Error(`no token labelled ${JSON.stringify(options.tokenLabel)}`);
    session = p11.C_OpenSession(slot, lib.CKF_SERIAL_SESSION | lib.CKF_RW_SESSION);
    p11.C_Login(session, lib.CKU_USER, options.pin);
  } catch (error) {
    p11.C_Finalize();
    throw new StartupError('INVALID_OPTION', `cannot open PKCS#11 token ${JSON.stringify(options.tokenLabel)}: ${(error as Error).message}`);
  }

  const privateKeyHandle = (label: string): Buffer => {
    p11.C_FindObjectsInit(session, [
      { type: lib.CKA_CLASS, value: lib.CKO_PRIVATE_KEY },
      { type: lib.CKA_LABEL, value: label },
    ]);
    try {
      const handle = p11.C_FindObjects(session);
      if (!handle) throw new ServiceError('CA_KEY_UNAVAILABLE', `the PKCS#11 token holds no key labelled ${JSON.stringify(label)}`, { label });
      return handle;
    } finally {
      p11.C_FindObjectsFinal(session);
    }
  };

  return {
    generateEcKey(label) {
      const id = createHash('sha256').update(label).digest().subarray(0, 16);
      const { publicKey } = p11.C_GenerateKeyPair(
        session,
        { mechanism: lib.CKM_EC_KEY_PAIR_GEN },
        [
          { type: lib.CKA_CLASS, value: lib.CKO_PUBLIC_KEY },
          { type: lib.CKA_TOKEN, value: true },
          { type: lib.CKA_LABEL, value: label },
          { type: lib.CKA_ID, value: id },
          { type: lib.CKA_VERIFY, value: true },
          { type: lib.CKA_EC_PARAMS, value: P256_PARAMS },
        ],
        [
          { type: lib.CKA_CLASS, value: lib.CKO_PRIVATE_KEY },
          { type: lib.CKA_TOKEN, value: true },
          { type: lib.CKA_PRIVATE, value: true },
          { type: lib.CKA_SENSITIVE, value: true },
          { type: lib.CKA_EXTRACTABLE, value: false },
          { type: lib.CKA_SIGN, value: true },
          { type: lib.CKA_LABEL, value: label },
          { type: lib.CKA_ID, value: id },
        ],
      );
      const [attribute] = p11.C_GetAttributeValue(session, publicKey, [{ type: lib.CKA_EC_POINT }]);
      const encoded = attribute?.value;
      // CKA_EC_POINT is the DER OCTET STRING of the uncompressed point 04 ‖ X ‖ Y (65 octets for P-256).
      if (!Buffer.isBuffer(encoded) || encoded.length !== 67 || encoded[0] !== 0x04 || encoded[1] !== 65 || encoded[2] !== 0x04) {
        throw new Error('the token returned an EC point that is not an uncompressed P-256 point');
      }
      const jwk = { kty: 'EC', crv: 'P-256', x: encoded.subarray(3, 35).toString('base64url'), y: encoded.subarray(35, 67).toString('base64url') };
      return createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'der' });
    },
    signer(label): Signer {
      const key = privateKeyHandle(label);
      return {
        algorithm: P256_ALGORITHM,
        sign(data) {
          const digest = createHash('sha256').update(data).digest();
          p11.C_SignInit(session, { mechanism: lib.CKM_ECDSA }, key);
          return ecdsaSignatureToDer(p11.C_Sign(session, digest, Buffer.alloc(64)));
        },
      };
    },
    ping() {
      p11.C_GetSessionInfo(session);
    },
    close() {
      try {
        p11.C_Logout(session);
        p11.C_CloseSession(session);
      } finally {
        p11.C_Finalize();
      }
    },
  };
}
