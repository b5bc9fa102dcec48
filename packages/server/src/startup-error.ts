/** Why a server could not start; the CLI maps each code to an exit status and a one-line message. */
export type StartupErrorCode = 'PLATFORM_ROOT_MISMATCH' | 'MASTER_KEY_MISMATCH' | 'TLS_CREDENTIALS_INVALID' | 'DATA_DIR_UNUSABLE' | 'DATA_DIR_PERMISSIONS' | 'SECRET_FILE_PERMISSIONS' | 'DATABASE_UNAVAILABLE' | 'REDIS_UNAVAILABLE' | 'INVALID_OPTION';

export class StartupError extends Error {
  override readonly name = 'StartupError';

  constructor(
    readonly code: StartupErrorCode,
    message: string,
  ) {
    super(message);
  }
}
