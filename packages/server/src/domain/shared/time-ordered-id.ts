import { randomUUID } from 'node:crypto';

/**
 * A UUID in version 7's layout (RFC 9562 §5.7): 48 bits of Unix milliseconds, then random
 * bits. Rows keyed by it are appended at the end of their index instead of landing on a
 * random page: a factory line's issuance records then dirty one index page per commit, not
 * one per certificate (bench:pki, SQLite's write-ahead log).
 */
export function timeOrderedId(now: Date): string {
  const random = randomUUID();
  const ms = now.getTime().toString(16).padStart(12, '0').slice(-12);
  // xxxxxxxx-xxxx-7xxx-Vxxx-xxxxxxxxxxxx: the random UUID's variant bits stay as they are.
  return `${ms.slice(0, 8)}-${ms.slice(8, 12)}-7${random.slice(15)}`;
}
