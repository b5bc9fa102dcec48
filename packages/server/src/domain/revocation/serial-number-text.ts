/**
 * A certificate serial as one spelling: upper-case hex of the number, without leading zeros
 * (`openssl x509 -serial` prints it so, but keeps a leading zero nibble; `fleetpki devices
 * generate` writes its manifest the same way). Both sides of a revocation-by-serial lookup go
 * through here, so `0A`, `0a`, `0x0A` and `0A:` name the same certificate.
 */

/** The key of a certificate named by its issuing CA certificate and serial, as revocations and the revocation sets hold it. */
export function caSerialKey(caId: string, serialNumber: string): string {
  return `${caId}\u0000${serialNumber}`;
}

/** RFC 5280 §4.1.2.2: at most 20 octets. */
const MAX_SERIAL_HEX_DIGITS = 40;

/** The spelling of a certificate's serial, from its INTEGER content octets (a leading 00 only marks it positive). */
export function serialNumberText(serialNumber: Buffer): string {
  const text = serialNumber.toString('hex').replace(/^0+/, '').toUpperCase();
  return text === '' ? '0' : text;
}

/**
 * A serial as a person or a manifest writes it (hex, optionally `0x`-prefixed or colon-separated
 * as openssl prints long ones), in the one spelling; undefined when it is no positive integer of
 * at most 20 octets.
 */
export function parseSerialNumberText(input: string): string | undefined {
  const digits = input.trim().replace(/^0x/i, '').replace(/:/g, '');
  if (!/^[0-9a-fA-F]+$/.test(digits)) return undefined;
  const text = digits.replace(/^0+/, '').toUpperCase();
  if (text === '' || text.length > MAX_SERIAL_HEX_DIGITS) return undefined;
  return text;
}
