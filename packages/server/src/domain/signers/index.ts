// Adapters that sign: the certificate-signer port and its implementations (a local key, a cfssl
// remote signer, a PKCS#11 token).
// This file is the only door gateway/ and http/ may use (npm run lint enforces it).

export { type Pkcs11Options, openPkcs11Token } from './pkcs11-token.js';
export { fetchCfsslCaCertificate } from './cfssl-signer.js';
