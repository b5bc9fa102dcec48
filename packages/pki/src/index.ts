/**
 * @fleetpki/pki's public surface: a deliberate list, module by module, of what the server, the
 * CLI, the benchmarks and the conformance harnesses use. Anything else is internal and may change;
 * tests of the package reach internals through their own modules.
 */
export { PKI_ERROR_CODES, PKI_ERROR_FACTS, PkiError, isPkiError, isPkiErrorCode, type AnyPkiError, type FactKind, type FactTable, type FactsOf, type ContextArgument, type PkiErrorCode, type PkiErrorContext } from './errors.js';
export { Oid, oidName } from './oids.js';
export { MAX_PEM_BLOCKS, MAX_PEM_INPUT_BYTES, decodePem, encodePem, looksLikePem } from './pem.js';
export { attributeValues, encodeName, formatNameForDisplay, formatSubjectString, parseName, parseSubjectString, type DistinguishedName } from './name.js';
export { describeKey, formatKeyAlgorithm, type KeyAlgorithm, type KeySpec } from './key-algorithm.js';
export { generateEncodedKeyPair, generateKeyPair } from './key-generation.js';
export { MIN_RSA_BITS, weakKeyReason } from './key-strength.js';
export { PRIVATE_KEY_PEM_LABELS, ecPublicKeyFromSec1, privateKeyDer, privateKeyFromDer, sniffPrivateKeyFormat, type PrivateKeyFormat } from './private-key.js';
export { parseSubjectPublicKeyInfo, publicKeyObject, spkiDer, type PublicKeyInfo } from './public-key.js';
export { parseAlgorithmIdentifier, type AlgorithmIdentifier } from './algorithm-identifier.js';
export { signatureAlgorithmName, signingAlgorithmFor, verifySignature } from './signature.js';
export { decodeAuthorityKeyIdentifier, type Extension } from './extensions.js';
export { fingerprintSha256, isCaCertificate, isSelfIssued, parseCertificate, serialHex, type Certificate } from './certificate.js';
export { certificateContent, type CertificateContent } from './certificate-content.js';
export { assertCsrSignature, createCsr, createCsrWithSigner, csrSignatureAlgorithmName, parseCsr, verifyCsrSignature, type CertificationRequest } from './csr.js';
export { crlSignatureAlgorithmName, parseCrl, type CertificateRevocationList, type RevokedCertificate } from './crl.js';
export { CRL_REASON_NAMES, crlReasonName, type CrlReasonName } from './crl-reason.js';
export { crlEntryReasonOf, crlNumberOf, deltaCrlBaseOf } from './crl-fields.js';
export { buildCrl, type CrlEntryInput, type CrlInput } from './crl-builder.js';
export { buildOcspResponse, MAX_OCSP_REQUESTS, OCSP_OIDS, ocspErrorResponse, parseOcspRequest, type OcspCertId, type OcspCertStatus, type OcspErrorStatus, type OcspRequest, type OcspSingleResponse } from './ocsp.js';
export { assertCertificateId, assertProjectSlug, deviceIdentityFromSubject, deviceSubject, isValidCertificateId, isValidProjectSlug, type DeviceIdentity } from './identity.js';
export { assertDeviceCertificatePolicy, deviceIdentityFromCertificate } from './device-policy.js';
export { validateDeviceCertificate, verifyDevicePath, type DevicePathInput, type DeviceValidationFailure, type DeviceValidationResult } from './device-validation.js';
export { MAX_VALIDITY_DAYS, validityForDays, type Validity } from './validity.js';
export { authorityKeyIdentifierExtension, keyIdentifier, type CertificateProfile, type RevocationUrls } from './certificate-profile.js';
export { ecdsaSignatureToDer, keySigner, type Signer } from './signer.js';
export { checkValidityAgainstIssuer, endsAfterIssuer, keyMatchesCertificate, prepareIssuer, prepareSignerIssuer, type IssuingAuthority, type PreparedIssuer } from './issuer.js';
export { MAX_PATH_LEN, createSelfSignedCa, issueCertificate, issueDeviceCertificate, type CertificateTemplate, type IssuedCertificate } from './issuance.js';
export { signCsr, type CsrSigningResult } from './csr-signing.js';
export { decodeObjects, loadCertificate, loadCertificates, loadCrls, loadCsr, loadPrivateKey, sniffDer, type PkiObject, type PkiObjectKind } from './pki-object.js';
export { verifyChain, type ChainFailure, type ChainFailureCode, type ChainFailureContext, type ChainVerificationResult } from './verify-chain.js';
export { SignatureCache } from './signature-cache.js';
export { SerialNumberSource } from './serial-number.js';
export { type ValidationOptions } from './path-checks.js';
export { normalizeDnsName } from './dns-name.js';
export { namesMatch } from './name-matching.js';
export { parseIpAddress } from './ip-address.js';
export { encodeCertsOnlyPkcs7 } from './certs-only-pkcs7.js';
export { encodeCsrAttributes } from './est-csr-attributes.js';
export { CMP_BODY_TYPES, CMP_INFO_TYPES, MAX_CMP_MESSAGE_BYTES, parseCmpMessage, type CertStatus, type CmpBody, type CmpBodyType, type CmpHeader, type CmpMessage } from './cmp-message.js';
export { PASSWORD_BASED_MAC_OID, PBM_MAX_ITERATIONS, PBM_MIN_ITERATIONS, freshParameters, macWithKey, parsePasswordBasedMac, passwordBasedKey, passwordBasedMac, passwordBasedMacAlgorithm, verifyMacWithKey, verifyPasswordBasedMac, type PasswordBasedMacParameters } from './cmp-password-mac.js';
export { answerHeader, certRepContent, certificateSequence, cmpBody, cmpMessage, directoryName, errorContent, genRepContent, NULL_DIRECTORY_NAME, PkiFailureInfo, PkiStatus, pkiConfContent, pkiStatusInfo, protectedPartOf, revRepContent, type AnswerHeaderFields, type CertResponseInput, type PkiFailureInfoName } from './cmp-response.js';
export { parseCertReqMessages, verifyCertRequestSignature, type CertRequestMessage, type ProofOfPossession } from './crmf.js';
export {
  ACCEPT_ASTERISK_AND_AMPERSAND_IN_PRINTABLE_STRING,
  ACCEPT_GENERALIZED_TIME_BEFORE_2050,
  DerReader,
  readSingle,
  type DerElement,
} from './der/reader.js';
export { Tag } from './der/tags.js';
export * from './certs-only-pkcs7.js';
