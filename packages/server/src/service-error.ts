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
  'MANUFACTURER_CERT_INVALID',
  'PSK_IDENTITY_INVALID',
  'PSK_INVALID',
  'PSK_IDENTITY_TAKEN',
  'INTERNAL_ERROR',
] as const;

export type ServiceErrorCode = (typeof SERVICE_ERROR_CODES)[number];

/** Machine-readable facts about one failure, sent as extra members of the problem document. */
export type ServiceErrorContext = Readonly<Record<string, string | number | boolean | null | readonly unknown[] | Readonly<Record<string, unknown>>>>;

export class ServiceError extends Error {
  override readonly name = 'ServiceError';

  constructor(
    readonly code: ServiceErrorCode,
    message: string,
    readonly context: ServiceErrorContext = {},
  ) {
    super(message);
  }
}

export function isServiceError(value: unknown): value is ServiceError {
  return value instanceof ServiceError;
}
