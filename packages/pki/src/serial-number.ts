import { randomBytes } from 'node:crypto';

const SERIAL_BYTES = 16;

/**
 * A fresh serial: 16 random octets from the OS CSPRNG, the top bit cleared so it is positive
 * and the first octet non-zero so the encoding is minimal at full length: 127 bits of entropy,
 * above the 64 bits CA/B Forum asks for.
 */
export function randomSerialNumber(): Buffer {
  const serial = randomBytes(SERIAL_BYTES);
  serial[0] = (serial[0] as number) & 0x7f || 0x01;
  return serial;
}
