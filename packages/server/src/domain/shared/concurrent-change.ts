/**
 * Writes that depend on what was read are compare-and-swap: the UPDATE names the values it
 * read, and when another request changed the row in between it matches nothing. The
 * transaction then rolls back (no audit event for a change that did not happen) and the
 * operation starts over from a fresh read, a bounded number of times.
 */
export class ConcurrentChange extends Error {
  constructor() {
    super('the row changed while this request was writing it');
  }
}

export const MAX_CONCURRENT_RETRIES = 5;

export async function retryOnConcurrentChange<T>(operation: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      if (!(error instanceof ConcurrentChange) || attempt >= MAX_CONCURRENT_RETRIES) throw error;
    }
  }
}

/** Throws ConcurrentChange unless the write touched exactly one row. */
export function expectOneRow(result: { numUpdatedRows?: bigint; numDeletedRows?: bigint }): void {
  if (Number(result.numUpdatedRows ?? result.numDeletedRows ?? 0n) !== 1) throw new ConcurrentChange();
}
