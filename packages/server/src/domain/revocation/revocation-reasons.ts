import type { CrlReasonName } from '@fleetpki/pki';

/**
 * The reasons an operator may give (RFC 5280 §5.3.1, by the RFC's names): certificateHold is
 * left out (a revocation here is final) and so are removeFromCRL (a delta-CRL device) and
 * aACompromise (attribute certificates). `caCompromise` is the RFC's `cACompromise`, spelled as
 * operators write it.
 */
export const REVOCATION_REASONS = ['unspecified', 'keyCompromise', 'caCompromise', 'affiliationChanged', 'superseded', 'cessationOfOperation', 'privilegeWithdrawn'] as const;

export type RevocationReason = (typeof REVOCATION_REASONS)[number];

/** The CRLReason a revocation is published with, and read back from a CRL. */
export const CRL_REASON_OF: Readonly<Record<RevocationReason, CrlReasonName>> = {
  unspecified: 'unspecified',
  keyCompromise: 'keyCompromise',
  caCompromise: 'cACompromise',
  affiliationChanged: 'affiliationChanged',
  superseded: 'superseded',
  cessationOfOperation: 'cessationOfOperation',
  privilegeWithdrawn: 'privilegeWithdrawn',
};
