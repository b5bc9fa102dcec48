/**
 * RFC 5280 §5.3.1 CRLReason: the enumeration's names by value. Value 7 is unassigned; names are
 * the RFC's own, as revocation requests and problem documents spell them.
 */
export const CRL_REASON_NAMES = [
  'unspecified',
  'keyCompromise',
  'cACompromise',
  'affiliationChanged',
  'superseded',
  'cessationOfOperation',
  'certificateHold',
  undefined,
  'removeFromCRL',
  'privilegeWithdrawn',
  'aACompromise',
] as const;

export type CrlReasonName = Exclude<(typeof CRL_REASON_NAMES)[number], undefined>;

/** The name of a CRLReason value, or undefined for one RFC 5280 does not assign. */
export function crlReasonName(value: number): CrlReasonName | undefined {
  return CRL_REASON_NAMES[value];
}
