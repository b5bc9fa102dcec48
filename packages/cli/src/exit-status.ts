import type { PkiErrorCode } from '@fleetpki/pki';
import type { StartupErrorCode } from '@fleetpki/server';
import type { ApiClientErrorCode } from './api-error.js';
import type { CliErrorCode } from './cli-error.js';

/**
 * Exit statuses by failure class. The table is the one place a code becomes a status, and it
 * is exhaustive: a new code does not compile until it is given a class here. docs/reference/exit-statuses.md is generated from it (npm run docs:reference).
 */
export const ExitStatus = {
  OK: 0,
  INTERNAL: 1,
  USAGE: 2,
  BAD_INPUT: 3,
  POLICY: 4,
  CRYPTO: 5,
  VERIFY_FAILED: 6,
  OUTPUT: 7,
  /** The management API answered with a problem (its code is printed). */
  SERVER_REFUSED: 8,
  /** The management API could not be reached, or what answered was not it. */
  SERVER_UNREACHABLE: 9,
} as const;

export type ExitStatusValue = (typeof ExitStatus)[keyof typeof ExitStatus];

export const EXIT_STATUS_BY_CODE: Readonly<Record<PkiErrorCode | CliErrorCode | StartupErrorCode | ApiClientErrorCode, ExitStatusValue>> = {
  USAGE: ExitStatus.USAGE,
  INVALID_ARGUMENT: ExitStatus.USAGE,
  INVALID_VALIDITY: ExitStatus.USAGE,
  SUBJECT_SYNTAX: ExitStatus.USAGE,
  SUBJECT_UNKNOWN_ATTRIBUTE: ExitStatus.USAGE,

  FILE_NOT_FOUND: ExitStatus.BAD_INPUT,
  PEM_MALFORMED: ExitStatus.BAD_INPUT,
  PEM_NOT_FOUND: ExitStatus.BAD_INPUT,
  DER_MALFORMED: ExitStatus.BAD_INPUT,
  DER_TRAILING_DATA: ExitStatus.BAD_INPUT,
  WRONG_OBJECT_TYPE: ExitStatus.BAD_INPUT,
  INPUT_TOO_LARGE: ExitStatus.BAD_INPUT,
  UNSUPPORTED_ALGORITHM: ExitStatus.BAD_INPUT,
  UNSUPPORTED_KEY_TYPE: ExitStatus.BAD_INPUT,
  KEY_ENCRYPTED: ExitStatus.BAD_INPUT,
  KEY_MALFORMED: ExitStatus.BAD_INPUT,

  INVALID_PROJECT_SLUG: ExitStatus.POLICY,
  INVALID_CERTIFICATE_ID: ExitStatus.POLICY,
  SUBJECT_O_MISSING: ExitStatus.POLICY,
  SUBJECT_O_MULTIPLE: ExitStatus.POLICY,
  SUBJECT_MULTIVALUED_RDN: ExitStatus.POLICY,
  SUBJECT_CN_MISSING: ExitStatus.POLICY,
  SUBJECT_CN_MULTIPLE: ExitStatus.POLICY,
  SUBJECT_O_MISMATCH: ExitStatus.POLICY,
  DEVICE_CERT_IS_CA: ExitStatus.POLICY,
  EKU_CLIENT_AUTH_MISSING: ExitStatus.POLICY,
  ISSUER_NOT_CA: ExitStatus.POLICY,
  ISSUER_KEY_USAGE: ExitStatus.POLICY,
  ISSUER_PATH_LEN: ExitStatus.POLICY,
  ISSUER_EXPIRED: ExitStatus.POLICY,
  ISSUER_NOT_YET_VALID: ExitStatus.POLICY,
  WEAK_KEY: ExitStatus.POLICY,

  CSR_SIGNATURE_INVALID: ExitStatus.CRYPTO,
  CA_KEY_MISMATCH: ExitStatus.CRYPTO,

  CERT_SIGNATURE_INVALID: ExitStatus.VERIFY_FAILED,
  CERT_EXPIRED: ExitStatus.VERIFY_FAILED,
  CERT_NOT_YET_VALID: ExitStatus.VERIFY_FAILED,
  UNKNOWN_ISSUER: ExitStatus.VERIFY_FAILED,
  NOT_A_CA: ExitStatus.VERIFY_FAILED,
  PATH_LEN_EXCEEDED: ExitStatus.VERIFY_FAILED,
  CHAIN_TOO_LONG: ExitStatus.VERIFY_FAILED,
  VALIDATION_BUDGET_EXHAUSTED: ExitStatus.VERIFY_FAILED,
  UNKNOWN_CRITICAL_EXTENSION: ExitStatus.VERIFY_FAILED,
  EKU_NOT_ALLOWED: ExitStatus.VERIFY_FAILED,
  NAME_CONSTRAINT_VIOLATION: ExitStatus.VERIFY_FAILED,
  PEER_NAME_MISMATCH: ExitStatus.VERIFY_FAILED,
  CERT_REVOKED: ExitStatus.VERIFY_FAILED,
  CRL_INVALID: ExitStatus.VERIFY_FAILED,
  CERT_PROFILE_VIOLATION: ExitStatus.VERIFY_FAILED,
  POLICY_VIOLATION: ExitStatus.VERIFY_FAILED,

  FILE_EXISTS: ExitStatus.OUTPUT,
  IO_ERROR: ExitStatus.OUTPUT,
  BACKUP_INVALID: ExitStatus.BAD_INPUT,
  TARGET_NOT_EMPTY: ExitStatus.OUTPUT,
  BACKUP_UNSUPPORTED: ExitStatus.USAGE,
  MASTER_KEY_IN_ENVIRONMENT: ExitStatus.USAGE,
  MASTER_KEY_VALUE_UNOPENABLE: ExitStatus.POLICY,
  MASTER_KEY_BUSY: ExitStatus.OUTPUT,
  IMPORT_ROWS_REFUSED: ExitStatus.BAD_INPUT,
  IMPORT_STOPPED: ExitStatus.SERVER_REFUSED,

  INTERNAL: ExitStatus.INTERNAL,

  // fleetpki serve: why the server could not start.
  INVALID_OPTION: ExitStatus.USAGE,
  TLS_CREDENTIALS_INVALID: ExitStatus.BAD_INPUT,
  PLATFORM_ROOT_MISMATCH: ExitStatus.POLICY,
  MASTER_KEY_MISMATCH: ExitStatus.POLICY,
  DATA_DIR_UNUSABLE: ExitStatus.OUTPUT,
  DATA_DIR_PERMISSIONS: ExitStatus.POLICY,
  SECRET_FILE_PERMISSIONS: ExitStatus.POLICY,
  DATABASE_UNAVAILABLE: ExitStatus.OUTPUT,
  REDIS_UNAVAILABLE: ExitStatus.OUTPUT,

  // Management commands: the API's own answers and what kept us from one.
  CERTIFICATES_REFUSED: ExitStatus.SERVER_REFUSED,
  LIST_TOO_LONG: ExitStatus.OUTPUT,
  SERVER_UNREACHABLE: ExitStatus.SERVER_UNREACHABLE,
  SERVER_TIMEOUT: ExitStatus.SERVER_UNREACHABLE,
  SERVER_RESPONSE_INVALID: ExitStatus.SERVER_UNREACHABLE,
};

/**
 * Every problem the management API answers exits SERVER_REFUSED whatever its code: the codes
 * are the server's closed union (packages/server/src/service-error.ts), and a newer server may
 * send one this CLI does not know, so they are printed as they come rather than tabled here.
 */
export const API_PROBLEM_EXIT_STATUS: ExitStatusValue = ExitStatus.SERVER_REFUSED;
