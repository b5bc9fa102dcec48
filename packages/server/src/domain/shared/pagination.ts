import { sql, type SelectQueryBuilder } from 'kysely';
import type { Database } from '../../store/schema.js';

/** DESIGN §5: lists page with `page` (from 0, as Golioth) and `perPage`, and say the total. */
export interface PageRequest {
  readonly page: number;
  readonly perPage: number;
}

export interface Page<T> {
  readonly list: readonly T[];
  readonly page: number;
  readonly perPage: number;
  readonly total: number;
}

export const DEFAULT_PER_PAGE = 20;
/** Bound on one page, so a single request cannot ask the store for everything at once. */
export const MAX_PER_PAGE = 500;

export function offsetOf(request: PageRequest): number {
  return request.page * request.perPage;
}

/**
 * One page of a filtered query and the filter's total, read together: `rows` adds the columns and
 * the order (which must be total, so pages do not overlap), `view` turns a row into what the API shows.
 */
export async function fetchPage<TB extends keyof Database, Row, T>(
  filtered: SelectQueryBuilder<Database, TB, object>,
  rows: (query: SelectQueryBuilder<Database, TB, object>) => SelectQueryBuilder<Database, TB, Row>,
  view: (row: Row) => T,
  request: PageRequest,
): Promise<Page<T>> {
  const [list, count] = await Promise.all([
    rows(filtered).limit(request.perPage).offset(offsetOf(request)).execute(),
    filtered.select(sql<string | number>`count(*)`.as('total')).executeTakeFirstOrThrow(),
  ]);
  return { list: list.map(view), page: request.page, perPage: request.perPage, total: Number(count.total) };
}
