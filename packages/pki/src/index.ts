export * from './errors.js';
export * from './oids.js';
export * from './pem.js';
export * from './name.js';
export * from './key-algorithm.js';
export * from './key-generation.js';
export * from './private-key.js';
export * from './public-key.js';
export * from './algorithm-identifier.js';
export * from './signature.js';
export * from './extensions.js';
export * from './certificate.js';
export * from './certificate-content.js';
export * from './csr.js';
export * from './crl.js';
export * from './identity.js';
export * from './device-policy.js';
export * from './device-validation.js';
export * from './validity.js';
export * from './serial-number.js';
export * from './certificate-profile.js';
export * from './signer.js';
export * from './issuer.js';
export * from './issuance.js';
export * from './csr-signing.js';
export * from './pki-object.js';
export * from './verify-chain.js';
export * from './path-checks.js';
export * from './policy-graph.js';
export * from './certificate-policies.js';
export * from './name-matching.js';
export * from './name-constraints.js';
export * from './dns-name.js';
export * from './ip-address.js';
export {
  ACCEPT_ASTERISK_AND_AMPERSAND_IN_PRINTABLE_STRING,
  ACCEPT_GENERALIZED_TIME_BEFORE_2050,
  DerReader,
  readSingle,
  type DerElement,
} from './der/reader.js';
export { Tag } from './der/tags.js';
export * from './certs-only-pkcs7.js';
