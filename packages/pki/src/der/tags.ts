/** Universal and context-specific tag bytes used by the X.509 structures we read and write. */
export const Tag = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  ENUMERATED: 0x0a,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  T61_STRING: 0x14,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  VISIBLE_STRING: 0x1a,
  UNIVERSAL_STRING: 0x1c,
  BMP_STRING: 0x1e,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** [n] EXPLICIT or constructed context tag. */
export function contextConstructed(n: number): number {
  return 0xa0 | n;
}

/** [n] IMPLICIT primitive context tag. */
export function contextPrimitive(n: number): number {
  return 0x80 | n;
}
