import type { EnrollmentTokensTable } from '../../store/schema.js';
import type { SecretSealer } from '../shared/secret-sealer.js';

/** What binds a sealed enrollment token to its row (a master-key rotation re-seals under the same). */
export function enrollmentTokenSealContext(row: Pick<EnrollmentTokensTable, 'id' | 'project_id'>): string {
  return `enrollment-token:${row.id}:${row.project_id}`;
}

/**
 * Enrollment tokens kept sealed for CMP (migration 0012): the MAC that protects a CMP message is
 * keyed by the token itself (RFC 4211 §4.4), so a hash is not enough to check one.
 */
export class EnrollmentTokenSecrets {
  constructor(private readonly sealer: SecretSealer) {}

  seal(token: string, row: Pick<EnrollmentTokensTable, 'id' | 'project_id'>): string {
    return this.sealer.sealText(Buffer.from(token, 'utf8'), enrollmentTokenSealContext(row));
  }

  /** The token, or undefined when it does not open (another master key, a damaged value). */
  open(row: Pick<EnrollmentTokensTable, 'id' | 'project_id' | 'secret_sealed'>): Buffer | undefined {
    if (row.secret_sealed === null) return undefined;
    const opened = this.sealer.openText(row.secret_sealed, enrollmentTokenSealContext(row));
    return opened.ok ? opened.value : undefined;
  }
}
