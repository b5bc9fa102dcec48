/**
 * Text that people read back — names in tables, the console, logs, audit entries — must show
 * what it is. Control characters (Cc) can rewrite a terminal; format characters (Cf: the
 * bidirectional overrides U+202A–U+202E and isolates U+2066–U+2069, zero-width characters,
 * U+FEFF) and the line and paragraph separators (Zl, Zp) make a name read as another
 * ("Trojan Source", CVE-2021-42574); a lone surrogate (Cs, `\ud800` in JSON) is no character at
 * all, and PostgreSQL would store U+FFFD for it. One rule, for every displayed string the API takes.
 */
const UNDISPLAYABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u;

export function hasUndisplayableCharacter(text: string): boolean {
  return UNDISPLAYABLE.test(text);
}
