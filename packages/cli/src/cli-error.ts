/** Failures that belong to the command line rather than to the PKI core. */
export const CLI_ERROR_CODES = [
  'USAGE',
  'FILE_NOT_FOUND',
  'FILE_EXISTS',
  'IO_ERROR',
  'INTERNAL',
  /** A backup file that is not one, is damaged, or fails the store's integrity check. */
  'BACKUP_INVALID',
  /** `fleetpki restore` into a directory that is not empty. */
  'TARGET_NOT_EMPTY',
  /** `fleetpki backup` of a store it does not back up (PostgreSQL: pg_dump). */
  'BACKUP_UNSUPPORTED',
  /** `fleetpki master-key rotate` with the key from FLEETPKI_MASTER_KEY: rotate in steps (add, reseal). */
  'MASTER_KEY_IN_ENVIRONMENT',
  /** A sealed value that no key of the ring opens: nothing was re-sealed. */
  'MASTER_KEY_VALUE_UNOPENABLE',
  /** Another `fleetpki master-key` command is changing the key file (master-key.lock). */
  'MASTER_KEY_BUSY',
  /** `fleetpki devices import`: some rows were invalid or conflicting (the others were imported). */
  'IMPORT_ROWS_REFUSED',
  /** `fleetpki devices import`: the server stopped the import part way (the rows before were imported). */
  'IMPORT_STOPPED',
] as const;

export type CliErrorCode = (typeof CLI_ERROR_CODES)[number];

export class CliError extends Error {
  readonly code: CliErrorCode;

  constructor(code: CliErrorCode, message: string) {
    super(message);
    this.name = 'CliError';
    this.code = code;
  }
}

export function isCliErrorCode(value: unknown): value is CliErrorCode {
  return typeof value === 'string' && (CLI_ERROR_CODES as readonly string[]).includes(value);
}
