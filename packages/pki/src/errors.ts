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
  /** The validator spent its signature, path or name-constraint budget: fatal, outranked by nothing. */
  'VALIDATION_BUDGET_EXHAUSTED',
] as const;

export type PkiErrorCode = (typeof PKI_ERROR_CODES)[number];

/**
 * The kinds of value a failure's facts take; a trailing `?` marks a fact not always known.
 * Dates are ISO 8601 strings, so a context is JSON as it stands (problem documents, `--json`).
 */
type FactKindName = 'string' | 'number' | 'boolean' | 'date-time' | 'string[]' | 'object[]';
export type FactKind = FactKindName | `${FactKindName}?`;
export type FactTable = Readonly<Record<string, FactKind>>;

/** Where in the path a chain failure is: 0 is the leaf, the anchor last. */
const AT_CERT = { certIndex: 'number' } as const;

/**
 * The facts each code carries, as data: the context types below are derived from it and the
 * reference docs (docs/reference/failure-codes.md) are rendered from it, so neither can drift.
 */
export const PKI_ERROR_FACTS = {
  PEM_MALFORMED: { label: 'string?' },
  PEM_NOT_FOUND: {},
  DER_MALFORMED: { what: 'string?', reason: 'string?' },
  DER_TRAILING_DATA: { what: 'string' },
  WRONG_OBJECT_TYPE: { label: 'string?', expected: 'string?', found: 'string?', count: 'number?', file: 'string?' },
  INPUT_TOO_LARGE: { size: 'number?', limit: 'number?', what: 'string?' },
  UNSUPPORTED_ALGORITHM: { oid: 'string?', certIndex: 'number?' },
  UNSUPPORTED_KEY_TYPE: { what: 'string?', curve: 'string?', oid: 'string?', keyType: 'string?', kind: 'string?' },
  KEY_ENCRYPTED: { label: 'string?' },
  KEY_MALFORMED: { what: 'string?', format: 'string?' },
  SUBJECT_SYNTAX: { subject: 'string?', attribute: 'string?' },
  SUBJECT_UNKNOWN_ATTRIBUTE: { attribute: 'string' },
  INVALID_PROJECT_SLUG: { slug: 'string' },
  INVALID_CERTIFICATE_ID: { length: 'number' },
  SUBJECT_O_MISSING: {},
  SUBJECT_O_MULTIPLE: { count: 'number' },
  SUBJECT_CN_MISSING: {},
  SUBJECT_CN_MULTIPLE: { count: 'number' },
  SUBJECT_MULTIVALUED_RDN: { attributes: 'number' },
  SUBJECT_O_MISMATCH: { found: 'string', expected: 'string' },
  DEVICE_CERT_IS_CA: {},
  EKU_CLIENT_AUTH_MISSING: { certIndex: 'number?' },
  CSR_SIGNATURE_INVALID: {},
  CA_KEY_MISMATCH: {},
  ISSUER_NOT_CA: { certIndex: 'number?' },
  ISSUER_KEY_USAGE: { certIndex: 'number?' },
  ISSUER_PATH_LEN: { issuerPathLen: 'number', pathLen: 'number?' },
  ISSUER_EXPIRED: { notAfter: 'date-time', at: 'date-time' },
  ISSUER_NOT_YET_VALID: { notBefore: 'date-time', at: 'date-time' },
  INVALID_VALIDITY: { field: 'string?', value: 'string?', days: 'number?', notAfter: 'date-time?', issuerNotAfter: 'date-time?' },
  INVALID_ARGUMENT: { argument: 'string?', value: 'string?', count: 'number?' },
  WEAK_KEY: { certIndex: 'number?', reason: 'string?' },
  CERT_SIGNATURE_INVALID: AT_CERT,
  CERT_EXPIRED: { ...AT_CERT, notAfter: 'date-time', at: 'date-time' },
  CERT_NOT_YET_VALID: { ...AT_CERT, notBefore: 'date-time', at: 'date-time' },
  UNKNOWN_ISSUER: AT_CERT,
  NOT_A_CA: AT_CERT,
  PATH_LEN_EXCEEDED: { ...AT_CERT, pathLen: 'number', intermediatesBelow: 'number' },
  CHAIN_TOO_LONG: { ...AT_CERT, maxDepth: 'number' },
  UNKNOWN_CRITICAL_EXTENSION: { ...AT_CERT, oid: 'string' },
  EKU_NOT_ALLOWED: { ...AT_CERT, oid: 'string' },
  NAME_CONSTRAINT_VIOLATION: AT_CERT,
  PEER_NAME_MISMATCH: AT_CERT,
  CERT_REVOKED: { ...AT_CERT, serialNumber: 'string', revocationDate: 'date-time?', reason: 'string?' },
  CRL_INVALID: AT_CERT,
  CERT_PROFILE_VIOLATION: AT_CERT,
  POLICY_VIOLATION: AT_CERT,
  VALIDATION_BUDGET_EXHAUSTED: { ...AT_CERT, signatureChecks: 'number', pathsChecked: 'number', nameConstraintChecks: 'number' },
} as const satisfies Readonly<Record<PkiErrorCode, FactTable>>;

type FactValue<K extends FactKind> = K extends `string[]${string}`
  ? readonly string[]
  : K extends `object[]${string}`
    ? readonly Readonly<Record<string, unknown>>[]
    : K extends `number${string}`
      ? number
      : K extends `boolean${string}`
        ? boolean
        : string;

/** The object type a fact table describes: required facts, then the optional (`?`) ones. */
export type FactsOf<T extends FactTable> = { readonly [N in keyof T as T[N] extends `${string}?` ? never : N]: FactValue<T[N]> } & {
  readonly [N in keyof T as T[N] extends `${string}?` ? N : never]?: FactValue<T[N]>;
};

/** The facts a failure with code `C` carries (distributes over a union of codes). */
export type PkiErrorContext<C extends PkiErrorCode = PkiErrorCode> = C extends PkiErrorCode ? FactsOf<(typeof PKI_ERROR_FACTS)[C]> : never;

/** A context argument that may be left out when every fact of the code is optional. */
export type ContextArgument<T> = [object] extends [T] ? [context?: T] : [context: T];

export class PkiError<C extends PkiErrorCode = PkiErrorCode> extends Error {
  readonly code: C;
  readonly context: PkiErrorContext<C>;

  constructor(code: C, message: string, ...[context]: ContextArgument<PkiErrorContext<C>>) {
    super(message);
    this.name = 'PkiError';
    this.code = code;
    this.context = (context ?? {}) as PkiErrorContext<C>;
  }
}

/** A PkiError whose context narrows with its code (`if (e.code === 'CERT_EXPIRED') e.context.notAfter`). */
export type AnyPkiError = { [C in PkiErrorCode]: PkiError<C> }[PkiErrorCode];

export function isPkiErrorCode(value: unknown): value is PkiErrorCode {
  return typeof value === 'string' && (PKI_ERROR_CODES as readonly string[]).includes(value);
}

export function isPkiError(value: unknown): value is AnyPkiError {
  return value instanceof PkiError;
}
