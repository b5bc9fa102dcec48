import type { PkiErrorCode } from '@fleetpki/pki';

/**
 * A failure the command has already explained on its own output (a verification verdict);
 * main only turns its code into the exit status.
 */
export class ReportedFailure extends Error {
  constructor(readonly code: PkiErrorCode) {
    super(code);
    this.name = 'ReportedFailure';
  }
}
