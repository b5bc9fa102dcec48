import type { ContextArgument, FactsOf, FactTable } from '@fleetpki/pki';

/**
 * Every failure the server reports, as a closed union of stable codes (DESIGN §7). HTTP
 * statuses for them live in one table (http/problem-status.ts); nothing else picks a status.
 */
export const SERVICE_ERROR_CODES = [
  'API_KEY_MISSING',
  'API_KEY_INVALID',
  'ADMIN_KEY_REQUIRED',
  'PROJECT_ACCESS_DENIED',
  'VALIDATION_FAILED',
  'MALFORMED_JSON',
  'UNSUPPORTED_MEDIA_TYPE',
  'BODY_TOO_LARGE',
  'ROUTE_NOT_FOUND',
  /** A route or resource that exists, asked with a method it does not answer (HTTP 405, CoAP 4.05). */
  'METHOD_NOT_ALLOWED',
  /** MQTT: the CONNECT's client ID is not the certificate ID (CONNACK 0x02). */
  'CLIENT_ID_MISMATCH',
  /** CoAP: a critical option the server does not know, or a malformed one (RFC 7252 §5.4.1, 4.02). */
  'BAD_OPTION',
  /** CoAP: a Block1 piece missing or out of order (RFC 7959 §2.9.2, 4.08). */
  'REQUEST_ENTITY_INCOMPLETE',
  /** A bounded resource of the server is in use to its limit; try again (5.03 with Max-Age). */
  'SERVER_BUSY',
  'PROJECT_NOT_FOUND',
  'PROJECT_SLUG_INVALID',
  'PROJECT_SLUG_TAKEN',
  'CERT_FILE_INVALID_BASE64',
  'CERT_FILE_UNPARSABLE',
  'CERT_FILE_EMPTY',
  'CERT_FILE_TOO_MANY',
  'CA_NOT_A_CA',
  'CA_KEY_CERT_SIGN_MISSING',
  'CA_EXPIRED',
  'CA_NOT_YET_VALID',
  'CA_ROOT_NOT_SELF_SIGNED',
  'CA_ROOT_SIGNATURE_INVALID',
  'CA_DUPLICATE',
  'CA_NOT_FOUND',
  'DEVICE_NOT_FOUND',
  'DEVICE_NAME_INVALID',
  'DEVICE_NAME_TAKEN',
  'CERTIFICATE_ID_INVALID',
  'CERTIFICATE_ID_TAKEN',
  'CERTIFICATE_ID_IMMUTABLE',
  'API_KEY_NOT_FOUND',
  'PKI_NOT_CONFIGURED',
  'MANAGED_CA_NOT_FOUND',
  'MANAGED_CA_NOT_PENDING',
  'MANAGED_CA_DISABLED',
  'MANAGED_CA_KEY_MISMATCH',
  'CA_KEY_UNAVAILABLE',
  'PKCS11_NOT_CONFIGURED',
  'CSR_INVALID_BASE64',
  'CSR_UNPARSABLE',
  'CSR_SIGNATURE_INVALID',
  'CSR_SIGNATURE_ALGORITHM_UNSUPPORTED',
  'CSR_SUBJECT_INVALID',
  'WEAK_KEY',
  'KEY_TYPE_NOT_ALLOWED',
  'VALIDITY_TOO_LONG',
  'VALIDITY_EXCEEDS_CA',
  'SIGNER_UNAVAILABLE',
  'SIGNER_RESPONSE_INVALID',
  'DEVICE_DISABLED',
  /** A device operation that needs the certificate's authentication (rotation) came over a PSK session. */
  'NO_CLIENT_CERTIFICATE',
  'DEVICE_IDENTITY_CHANGED',
  'ENROLLMENT_TOKEN_MISSING',
  'ENROLLMENT_TOKEN_INVALID',
  'ENROLLMENT_TOKEN_USED',
  'ENROLLMENT_TOKEN_EXPIRED',
  /** A CMP enrollment with a token made before CMP (its secret was never kept, only its hash). */
  'ENROLLMENT_TOKEN_NOT_FOR_CMP',
  'MANUFACTURER_CERT_INVALID',
  /** CMP (RFC 9483): the bytes are not a PKIMessage the profile allows. */
  'CMP_MESSAGE_MALFORMED',
  /** CMP: the message's protection (MAC or signature) does not verify, or is missing. */
  'CMP_PROTECTION_INVALID',
  /** CMP: a protection algorithm or PBM parameter the server does not accept. */
  'CMP_PROTECTION_UNSUPPORTED',
  /** CMP: the transactionID was already used in this project (RFC 4210 §5.1.1, transactionIdInUse). */
  'CMP_TRANSACTION_ID_IN_USE',
  /** CMP: a request the profile does not allow (more than one certificate, no subject or key, a header field missing). */
  'CMP_REQUEST_INVALID',
  /** CMP: the proof of possession of the key is missing or does not verify (badPOP). */
  'CMP_POP_INVALID',
  /** CMP: a body type this server does not serve. */
  'CMP_BODY_UNSUPPORTED',
  /** CMP certConf: no certificate of this transaction waits for it, or the hash is not the certificate's. */
  'CMP_CONFIRMATION_INVALID',
  /** EST serverkeygen asked of a project whose allowServerKeygen setting is off. */
  'SERVER_KEYGEN_NOT_ALLOWED',
  /** A remote signer (cfssl) signs CSRs only: a CMP request without a CSR cannot reach it. */
  'SIGNER_NEEDS_CSR',
  'PSK_IDENTITY_INVALID',
  'PSK_INVALID',
  'PSK_IDENTITY_TAKEN',
  /** A SHA-256 fingerprint that is not 64 hex digits. */
  'FINGERPRINT_INVALID',
  /** A certificate serial that is no positive integer of at most 20 octets. */
  'SERIAL_NUMBER_INVALID',
  /** A fingerprint the project has neither seen at an authentication nor issued. */
  'DEVICE_CERTIFICATE_NOT_FOUND',
  'CRL_FILE_INVALID_BASE64',
  'CRL_UNPARSABLE',
  /** The CRL names another issuer than the CA certificate it was uploaded for. */
  'CRL_ISSUER_MISMATCH',
  'CRL_SIGNATURE_INVALID',
  'CRL_NUMBER_MISSING',
  /** Delta CRLs (RFC 5280 §5.2.4) are not put in force: upload the complete CRL. */
  'CRL_DELTA_UNSUPPORTED',
  /** The CRL is not newer (by cRLNumber) than the one in force. */
  'CRL_NOT_NEWER',
  'CRL_NOT_FOUND',
  /** A CRL URL the server will not fetch: not http(s), or a loopback, link-local or private target. */
  'CRL_URL_REFUSED',
  /** A list's `cursor` is not one this list handed out (`nextCursor`). */
  'CURSOR_INVALID',
  /** A list's `page` reaches past the rows an offset may skip: page on by cursor. */
  'PAGE_TOO_DEEP',
  /** A device import's CSV header names neither a name nor a certificate_id column. */
  'IMPORT_HEADER_INVALID',
  /** A row of a device import that cannot be read (not JSON, not UTF-8, too long, ragged CSV); reported with its line. */
  'IMPORT_ROW_INVALID',
  /** A webhook endpoint this project does not have. */
  'WEBHOOK_NOT_FOUND',
  /** A webhook URL that is not an http(s) URL of at most 2,048 characters without credentials. */
  'WEBHOOK_URL_INVALID',
  /** A webhook target on a loopback, link-local or private address (serve --allow-private-webhooks allows them). */
  'WEBHOOK_URL_REFUSED',
  /** An event name webhooks do not send. */
  'WEBHOOK_EVENT_UNKNOWN',
  /** The project has as many webhook endpoints as it may. */
  'WEBHOOK_LIMIT_REACHED',
  /** A webhook secret that is not `whsec_` + base64 of 24 to 64 bytes. */
  'WEBHOOK_SECRET_INVALID',
  /** POST /v1/token: a grant_type other than client_credentials. */
  'TOKEN_GRANT_TYPE_UNSUPPORTED',
  /** POST /v1/token: an audience missing from the project's tokenAudiences. */
  'TOKEN_AUDIENCE_NOT_ALLOWED',
  /** POST /v1/token: a body that is not a token request (form or JSON; `reason`: content-type, encoding, malformed-form, malformed-json, not-an-object, parameter-type, duplicate-parameter, grant-type-missing, audience-missing, client-id-mismatch). */
  'TOKEN_REQUEST_INVALID',
  /** Forward-auth: a client-certificate header that does not decode to certificates (`reason`: url-escaping, pem, base64, der, too-many-certificates, repeated). */
  'FORWARD_AUTH_HEADER_INVALID',
  /** Forward-auth: a client-certificate header past its bound. */
  'FORWARD_AUTH_HEADER_TOO_LARGE',
  /** Forward-auth: the shared secret header is missing or wrong. */
  'FORWARD_AUTH_SECRET_INVALID',
  /** The API key lacks the scope this use needs (e.g. mqtt:subscribe, or api for the management API). */
  'API_KEY_SCOPE_MISSING',
  'INTERNAL_ERROR',
] as const;

export type ServiceErrorCode = (typeof SERVICE_ERROR_CODES)[number];

/**
 * Machine-readable facts each code carries, sent as extra members of its problem document. Data,
 * so the context types below derive from it and docs/reference/failure-codes.md is rendered
 * from it; `pkiCode` is the core's code where the core refused (domain/issuance/core-failures.ts).
 */
export const SERVICE_ERROR_FACTS = {
  API_KEY_MISSING: {},
  API_KEY_INVALID: {},
  ADMIN_KEY_REQUIRED: { projectId: 'string?', what: 'string?' },
  PROJECT_ACCESS_DENIED: { projectId: 'string' },
  VALIDATION_FAILED: { issues: 'object[]?' },
  MALFORMED_JSON: {},
  UNSUPPORTED_MEDIA_TYPE: {},
  BODY_TOO_LARGE: { maxBytes: 'number' },
  ROUTE_NOT_FOUND: { expected: 'string?', projectId: 'string?' },
  METHOD_NOT_ALLOWED: {},
  CLIENT_ID_MISMATCH: {},
  BAD_OPTION: {},
  REQUEST_ENTITY_INCOMPLETE: {},
  SERVER_BUSY: {},
  PROJECT_NOT_FOUND: { projectId: 'string' },
  PROJECT_SLUG_INVALID: { slug: 'string' },
  PROJECT_SLUG_TAKEN: { slug: 'string' },
  CERT_FILE_INVALID_BASE64: {},
  CERT_FILE_UNPARSABLE: { labels: 'string[]?', pkiCode: 'string?' },
  CERT_FILE_EMPTY: {},
  CERT_FILE_TOO_MANY: { count: 'number', max: 'number' },
  CA_NOT_A_CA: {},
  CA_KEY_CERT_SIGN_MISSING: {},
  CA_EXPIRED: { notAfter: 'date-time' },
  CA_NOT_YET_VALID: { notBefore: 'date-time' },
  CA_ROOT_NOT_SELF_SIGNED: {},
  CA_ROOT_SIGNATURE_INVALID: {},
  CA_DUPLICATE: { existingId: 'string?', fingerprintSha256: 'string' },
  CA_NOT_FOUND: { certificateId: 'string', index: 'number?' },
  DEVICE_NOT_FOUND: { deviceId: 'string' },
  DEVICE_NAME_INVALID: { name: 'string' },
  DEVICE_NAME_TAKEN: { existingId: 'string?' },
  CERTIFICATE_ID_INVALID: { certificateId: 'string?', deviceId: 'string?' },
  CERTIFICATE_ID_TAKEN: { certificateId: 'string?', existingId: 'string?' },
  CERTIFICATE_ID_IMMUTABLE: { certificateId: 'string' },
  API_KEY_NOT_FOUND: { apiKeyId: 'string' },
  PKI_NOT_CONFIGURED: { projectId: 'string' },
  MANAGED_CA_NOT_FOUND: { caId: 'string' },
  MANAGED_CA_NOT_PENDING: { caId: 'string', status: 'string' },
  MANAGED_CA_DISABLED: { caId: 'string' },
  MANAGED_CA_KEY_MISMATCH: { caId: 'string' },
  CA_KEY_UNAVAILABLE: { caId: 'string?', label: 'string?' },
  PKCS11_NOT_CONFIGURED: {},
  CSR_INVALID_BASE64: {},
  CSR_UNPARSABLE: { labels: 'string[]?', pkiCode: 'string?' },
  CSR_SIGNATURE_INVALID: { pkiCode: 'string?' },
  CSR_SIGNATURE_ALGORITHM_UNSUPPORTED: { pkiCode: 'string?' },
  CSR_SUBJECT_INVALID: { pkiCode: 'string?' },
  WEAK_KEY: { keyType: 'string?', pkiCode: 'string?' },
  KEY_TYPE_NOT_ALLOWED: { keyType: 'string', allowed: 'string[]' },
  VALIDITY_TOO_LONG: { days: 'number', maxDays: 'number' },
  VALIDITY_EXCEEDS_CA: { days: 'number', caNotAfter: 'date-time' },
  SIGNER_UNAVAILABLE: { url: 'string?', signerCode: 'number?', pkiCode: 'string?' },
  SIGNER_RESPONSE_INVALID: { url: 'string?', why: 'string?' },
  DEVICE_DISABLED: {},
  NO_CLIENT_CERTIFICATE: {},
  DEVICE_IDENTITY_CHANGED: { deviceId: 'string' },
  ENROLLMENT_TOKEN_MISSING: { projectId: 'string?' },
  ENROLLMENT_TOKEN_INVALID: {},
  ENROLLMENT_TOKEN_USED: { tokenId: 'string' },
  ENROLLMENT_TOKEN_NOT_FOR_CMP: { tokenId: 'string' },
  CMP_MESSAGE_MALFORMED: { reason: 'string' },
  CMP_PROTECTION_INVALID: {},
  CMP_PROTECTION_UNSUPPORTED: { reason: 'string' },
  CMP_TRANSACTION_ID_IN_USE: { transactionId: 'string' },
  CMP_REQUEST_INVALID: { reason: 'string' },
  CMP_POP_INVALID: {},
  CMP_BODY_UNSUPPORTED: { bodyType: 'string' },
  CMP_CONFIRMATION_INVALID: { reason: 'string' },
  SIGNER_NEEDS_CSR: {},
  SERVER_KEYGEN_NOT_ALLOWED: { projectId: 'string' },
  ENROLLMENT_TOKEN_EXPIRED: { tokenId: 'string' },
  MANUFACTURER_CERT_INVALID: { reason: 'string' },
  PSK_IDENTITY_INVALID: { identity: 'string' },
  PSK_INVALID: { minBytes: 'number', maxBytes: 'number' },
  PSK_IDENTITY_TAKEN: { identity: 'string' },
  FINGERPRINT_INVALID: { index: 'number?' },
  SERIAL_NUMBER_INVALID: { index: 'number?' },
  DEVICE_CERTIFICATE_NOT_FOUND: { fingerprintSha256: 'string', index: 'number?' },
  CRL_FILE_INVALID_BASE64: {},
  CRL_UNPARSABLE: { pkiCode: 'string?' },
  CRL_ISSUER_MISMATCH: { caId: 'string' },
  CRL_SIGNATURE_INVALID: { caId: 'string' },
  CRL_NUMBER_MISSING: { caId: 'string' },
  CRL_DELTA_UNSUPPORTED: { caId: 'string' },
  CRL_NOT_NEWER: { caId: 'string', crlNumber: 'string', inForce: 'string' },
  CRL_NOT_FOUND: { caId: 'string' },
  CRL_URL_REFUSED: { reason: 'string' },
  CURSOR_INVALID: {},
  PAGE_TOO_DEEP: { maxOffsetRows: 'number' },
  IMPORT_HEADER_INVALID: { header: 'string' },
  IMPORT_ROW_INVALID: {},
  WEBHOOK_NOT_FOUND: { webhookId: 'string' },
  WEBHOOK_URL_INVALID: { reason: 'string' },
  WEBHOOK_URL_REFUSED: { reason: 'string' },
  WEBHOOK_EVENT_UNKNOWN: { event: 'string', known: 'string[]' },
  WEBHOOK_LIMIT_REACHED: { max: 'number' },
  WEBHOOK_SECRET_INVALID: { minBytes: 'number', maxBytes: 'number' },
  TOKEN_GRANT_TYPE_UNSUPPORTED: { grantType: 'string' },
  TOKEN_AUDIENCE_NOT_ALLOWED: { audience: 'string' },
  TOKEN_REQUEST_INVALID: { reason: 'string' },
  FORWARD_AUTH_HEADER_INVALID: { header: 'string', reason: 'string' },
  FORWARD_AUTH_HEADER_TOO_LARGE: { header: 'string', maxBytes: 'number' },
  FORWARD_AUTH_SECRET_INVALID: {},
  API_KEY_SCOPE_MISSING: { scope: 'string' },
  INTERNAL_ERROR: { requestId: 'string' },
} as const satisfies Readonly<Record<ServiceErrorCode, FactTable>>;

/** The facts a failure with code `C` carries (distributes over a union of codes). */
export type ServiceErrorContext<C extends ServiceErrorCode = ServiceErrorCode> = C extends ServiceErrorCode ? FactsOf<(typeof SERVICE_ERROR_FACTS)[C]> : never;

export class ServiceError<C extends ServiceErrorCode = ServiceErrorCode> extends Error {
  override readonly name = 'ServiceError';
  readonly context: ServiceErrorContext<C>;

  constructor(
    readonly code: C,
    message: string,
    ...[context]: ContextArgument<ServiceErrorContext<C>>
  ) {
    super(message);
    this.context = (context ?? {}) as ServiceErrorContext<C>;
  }
}

/** A ServiceError whose context narrows with its code. */
export type AnyServiceError = { [C in ServiceErrorCode]: ServiceError<C> }[ServiceErrorCode];

export function isServiceError(value: unknown): value is AnyServiceError {
  return value instanceof ServiceError;
}
