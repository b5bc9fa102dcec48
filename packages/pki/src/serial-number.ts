import { randomFillSync } from 'node:crypto';

const SERIAL_BYTES = 16;

/**
 * Random octets drawn from the OS CSPRNG a page at a time and handed out once each, as Node
 * does for randomUUID: one RAND_bytes call per serial cost more than building the rest of a
 * device certificate (bench:pki profile). Every octet is used for one serial only.
 */
const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let poolOffset = POOL_BYTES;

/**
 * A fresh serial: 16 random octets, the top bit cleared so it is positive and the first octet
 * non-zero so the encoding is minimal at full length: 127 bits of entropy, above the 64 bits
 * CA/B Forum asks for.
 */
export function randomSerialNumber(): Buffer {
  if (poolOffset + SERIAL_BYTES > POOL_BYTES) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const serial = Buffer.from(pool.subarray(poolOffset, poolOffset + SERIAL_BYTES));
  poolOffset += SERIAL_BYTES;
  serial[0] = (serial[0] as number) & 0x7f || 0x01;
  return serial;
}
