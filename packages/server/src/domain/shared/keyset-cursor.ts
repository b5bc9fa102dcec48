import { ServiceError } from '../../service-error.js';

/**
 * A keyset cursor (DESIGN §8: `cursor` in, `nextCursor` out): the sort key of the last row a page
 * held, opaque to clients (base64url of JSON). The next page starts after it with an indexed
 * range, never an OFFSET, so paging stays fast however deep it goes. Anything but a cursor this
 * list handed out is CURSOR_INVALID.
 */
export function encodeCursor(key: readonly string[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

/** The sort key in a cursor, checked against the list's own key shape (`parts` strings, each matching its pattern). */
export function decodeCursor(cursor: string, patterns: readonly RegExp[]): string[] {
  let key: unknown;
  try {
    if (!/^[A-Za-z0-9_-]{1,1024}$/.test(cursor)) throw new Error('not base64url');
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new ServiceError('CURSOR_INVALID', 'cursor is not one this list handed out: pass nextCursor from the previous page, or no cursor for the first', {});
  }
  if (!Array.isArray(key) || key.length !== patterns.length || !key.every((part, i) => typeof part === 'string' && (patterns[i] as RegExp).test(part))) {
    throw new ServiceError('CURSOR_INVALID', 'cursor is not one this list handed out: pass nextCursor from the previous page, or no cursor for the first', {});
  }
  return key as string[];
}
