/**
 * Every failure of the core is one of these codes. The union is closed so callers (the CLI's
 * exit-status table, later the server's HTTP-status table) can switch on it exhaustively and
 * never have to match message text.
 */
export const PKI_ERROR_CODES = [
  // Encoding: the bytes are not what they claim to be.
  'PEM_MALFORMED',
  'PEM_NOT_FOUND',
  'DER_MALFORMED',
  'DER_TRAILING_DATA',
  'WRONG_OBJECT_TYPE',
  'INPUT_TOO_LARGE',
  // Algorithms and keys.
  'UNSUPPORTED_ALGORITHM',
  'UNSUPPORTED_KEY_TYPE',
  'KEY_ENCRYPTED',
  'KEY_MALFORMED',
  // Names and the device-identity rules of DESIGN §3.
  'SUBJECT_SYNTAX',
  'SUBJECT_UNKNOWN_ATTRIBUTE',
  'INVALID_PROJECT_SLUG',
  'INVALID_CERTIFICATE_ID',
  'SUBJECT_O_MISSING',
  'SUBJECT_O_MULTIPLE',
  'SUBJECT_CN_MISSING',
  'SUBJECT_CN_MULTIPLE',
  'SUBJECT_MULTIVALUED_RDN',
  'SUBJECT_O_MISMATCH',
  'DEVICE_CERT_IS_CA',
  'EKU_CLIENT_AUTH_MISSING',
  // Issuance.
  'CSR_SIGNATURE_INVALID',
  'CA_KEY_MISMATCH',
  'ISSUER_NOT_CA',
  'ISSUER_KEY_USAGE',
  'ISSUER_PATH_LEN',
  'ISSUER_EXPIRED',
  'ISSUER_NOT_YET_VALID',
  'INVALID_VALIDITY',
  'INVALID_ARGUMENT',
  'WEAK_KEY',
  // Chain verification.
  'CERT_SIGNATURE_INVALID',
  'CERT_EXPIRED',
  'CERT_NOT_YET_VALID',
  'UNKNOWN_ISSUER',
  'NOT_A_CA',
  'PATH_LEN_EXCEEDED',
  'CHAIN_TOO_LONG',
  'UNKNOWN_CRITICAL_EXTENSION',
  'EKU_NOT_ALLOWED',
  'NAME_CONSTRAINT_VIOLATION',
  'PEER_NAME_MISMATCH',
  'CERT_REVOKED',
  'CRL_INVALID',
  'CERT_PROFILE_VIOLATION',
  'POLICY_VIOLATION',
] as const;

export type PkiErrorCode = (typeof PKI_ERROR_CODES)[number];

/** Typed context travels with the code so a caller can say which certificate, which field. */
export interface PkiErrorContext {
  readonly [key: string]: string | number | boolean | undefined;
}

export class PkiError extends Error {
  readonly code: PkiErrorCode;
  readonly context: PkiErrorContext;

  constructor(code: PkiErrorCode, message: string, context: PkiErrorContext = {}) {
    super(message);
    this.name = 'PkiError';
    this.code = code;
    this.context = context;
  }
}

export function isPkiErrorCode(value: unknown): value is PkiErrorCode {
  return typeof value === 'string' && (PKI_ERROR_CODES as readonly string[]).includes(value);
}

export function isPkiError(value: unknown): value is PkiError {
  return value instanceof PkiError;
}
