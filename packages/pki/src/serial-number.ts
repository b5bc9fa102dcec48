import { randomFillSync } from 'node:crypto';

const SERIAL_BYTES = 16;

/**
 * Random octets drawn from the OS CSPRNG a page at a time: one RAND_bytes call per serial
 * cost more than building the rest of a device certificate (bench:pki profile). Held by the
 * caller (each prepared issuer has one), so the core keeps no state of its own; every octet is
 * used for one serial only.
 */
const POOL_BYTES = 4096;

export class SerialNumberSource {
  private readonly pool = Buffer.alloc(POOL_BYTES);
  private offset = POOL_BYTES;

  /**
   * A fresh serial: 16 random octets, the top bit cleared so it is positive and the first octet
   * non-zero so the encoding is minimal at full length: 127 bits of entropy, above the 64 bits
   * CA/B Forum asks for.
   */
  next(): Buffer {
    if (this.offset + SERIAL_BYTES > POOL_BYTES) {
      randomFillSync(this.pool);
      this.offset = 0;
    }
    const serial = Buffer.from(this.pool.subarray(this.offset, this.offset + SERIAL_BYTES));
    this.offset += SERIAL_BYTES;
    serial[0] = (serial[0] as number) & 0x7f || 0x01;
    return serial;
  }
}

/** A serial for a one-off certificate, with no pool (a self-signed root, a test). */
export function randomSerialNumber(): Buffer {
  return new SerialNumberSource().next();
}
