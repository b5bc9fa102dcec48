// The certificate authorities a project trusts or issues with: uploaded CA certificates and
// their rules, managed CAs, the cache of issuing CAs, and where CA keys are kept (sealed, or a PKCS#11 token).
// This file is the only door gateway/ and http/ may use (npm run lint enforces it).

export { deleteCaCertificate, getCaCertificate, listCaCertificates, setCaCertificateEnabled, uploadCaCertificates } from './ca-certificates.js';
export { CaKeyVault, caKeySealContext } from './ca-key-vault.js';
export { IssuingCaCache } from './issuing-cas.js';
export { type KeyToken } from './key-token.js';
export { completeManagedCa, createManagedCa, getManagedCa, listManagedCas } from './managed-cas.js';
