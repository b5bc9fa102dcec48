import { randomFillSync } from 'node:crypto';

const POOL_SIZE = 4096;
const SERIAL_BYTES = 16;
let pool = Buffer.alloc(0);
let poolOffset = 0;

/**
 * A fresh serial: 16 random octets from the OS CSPRNG, the top bit cleared so it is positive
 * and the first octet non-zero so the encoding is minimal at full length: 127 bits of entropy,
 * above the 64 bits CA/B Forum asks for. Drawn from a pool refilled by one call per 256 serials.
 */
export function randomSerialNumber(): Buffer {
  if (poolOffset + SERIAL_BYTES > pool.length) {
    pool = randomFillSync(Buffer.allocUnsafe(POOL_SIZE));
    poolOffset = 0;
  }
  const serial = Buffer.from(pool.subarray(poolOffset, poolOffset + SERIAL_BYTES));
  poolOffset += SERIAL_BYTES;
  serial[0] = (serial[0] as number) & 0x7f || 0x01;
  return serial;
}
