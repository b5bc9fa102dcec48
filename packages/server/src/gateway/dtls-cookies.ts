import { createHmac, randomBytes } from 'node:crypto';

/** How long a cookie secret is used; the previous one is still accepted for one more period. */
export const COOKIE_SECRET_LIFETIME_MS = 60_000;
const COOKIE_BYTES = 32;

/**
 * Stateless DTLS cookies (RFC 6347 §4.2.1): an HMAC of the client's address and port under a
 * secret that rotates, so the server keeps nothing for a ClientHello until the client proves it
 * receives datagrams at the address it claims. Returns the cookies to accept, the current first
 * (the one a HelloVerifyRequest carries).
 */
export class DtlsCookies {
  private current = randomBytes(32);
  private previous: Buffer | undefined;
  private rotatedAt: number;

  constructor(private readonly now: () => number = Date.now) {
    this.rotatedAt = now();
  }

  for(address: string, port: number): Buffer[] {
    const now = this.now();
    if (now - this.rotatedAt >= COOKIE_SECRET_LIFETIME_MS) {
      this.previous = this.current;
      this.current = randomBytes(32);
      this.rotatedAt = now;
    }
    const peer = `${address}|${port}`;
    const cookies = [mac(this.current, peer)];
    if (this.previous) cookies.push(mac(this.previous, peer));
    return cookies;
  }
}

function mac(secret: Buffer, peer: string): Buffer {
  return createHmac('sha256', secret).update(peer).digest().subarray(0, COOKIE_BYTES);
}
