/**
 * Text that came from the network (server messages, certificate subjects, device names) is
 * shown with its control and bidirectional-override characters escaped, so a hostile value
 * cannot move the cursor, recolour the terminal, forge an extra output line or reorder what is
 * read (CVE-2021-42574 "Trojan Source").
 */
const UNSAFE = /[\p{Cc}\u2028\u2029\u202A-\u202E\u2066-\u2069]/gu;

export function printable(text: string): string {
  return text.replace(UNSAFE, (c) => `\\u${(c.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`);
}

/** Bound on one message shown from the network, so an error stays one readable line. */
export const MAX_MESSAGE_CHARS = 1000;

/** One line of network-supplied text, escaped and bounded. */
export function printableLine(text: string, max = MAX_MESSAGE_CHARS): string {
  const safe = printable(text);
  return safe.length > max ? `${safe.slice(0, max)}…` : safe;
}
