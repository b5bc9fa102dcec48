import { sql, type Kysely, type RawBuilder, type SelectQueryBuilder } from 'kysely';
import { ServiceError } from '../../service-error.js';
import type { Database } from '../../store/schema.js';
import { decodeCursor, encodeCursor } from './keyset-cursor.js';

/**
 * DESIGN §5 and §8: lists page by cursor (`cursor` in, `nextCursor` out), and still by `page`
 * (from 0, as Golioth) and `perPage` for compatibility, bounded to the first MAX_OFFSET_ROWS rows.
 */
export interface PageRequest {
  readonly page: number;
  readonly perPage: number;
  /** The previous page's nextCursor: the page starts after its row (and `page` is not read). */
  readonly cursor?: string | undefined;
  /** `true`: count every row the filter matches, however many. */
  readonly count?: 'true' | 'false' | undefined;
}

export interface Page<T> {
  readonly list: readonly T[];
  readonly page: number;
  readonly perPage: number;
  /** The rows the filter matches: counted when asked, or when there are at most COUNT_CAP; else null. */
  readonly total: number | null;
  /** Pass as `cursor` for the next page; null on the last. */
  readonly nextCursor: string | null;
}

export const DEFAULT_PER_PAGE = 20;
/** Bound on one page, so a single request cannot ask the store for everything at once. */
export const MAX_PER_PAGE = 500;
/** How deep `page` may reach: an OFFSET reads and drops every row before it, so deeper paging is by cursor. */
export const MAX_OFFSET_ROWS = 10_000;
/** Without `count=true`, a list counts at most this many rows (a bounded index range) and says null beyond. */
export const COUNT_CAP = 10_000;

/**
 * The order a list pages in: its columns all ascending or all descending, the last one unique,
 * so that every row has its own key and a cursor (the last row's key) says exactly where the
 * next page starts. An index on the filter's columns followed by these serves both.
 */
export interface KeysetOrder<Row> {
  /** Column names, or expressions (a column with a collation). */
  readonly columns: readonly (string | RawBuilder<unknown>)[];
  readonly direction: 'asc' | 'desc';
  /** A row's sort key as the cursor carries it, one string per column. */
  key(row: Row): string[];
  /** What each part of a cursor must look like (CURSOR_INVALID otherwise). */
  readonly patterns: readonly RegExp[];
  /** The key's parts as the store compares them (integers for integer columns); strings by default. */
  values?(key: readonly string[]): readonly unknown[];
}

export function offsetOf(request: PageRequest): number {
  const offset = request.page * request.perPage;
  if (offset >= MAX_OFFSET_ROWS) {
    throw new ServiceError('PAGE_TOO_DEEP', `page reaches past the first ${MAX_OFFSET_ROWS} rows: page on with cursor (each page's nextCursor)`, { maxOffsetRows: MAX_OFFSET_ROWS });
  }
  return offset;
}

/**
 * One page of a filtered query: after the cursor when there is one (an indexed range, as fast on
 * the millionth row as on the first), else at `page`; one row more than asked is read so that
 * `nextCursor` is null exactly on the last page. `select` adds the columns, `view` makes what the
 * API shows. The total is counted only within COUNT_CAP unless `count=true`.
 */
export async function fetchPage<TB extends keyof Database, Row, T>(
  db: Kysely<Database>,
  filtered: SelectQueryBuilder<Database, TB, object>,
  select: (query: SelectQueryBuilder<Database, TB, object>) => SelectQueryBuilder<Database, TB, Row>,
  view: (row: Row) => T,
  request: PageRequest,
  order: KeysetOrder<Row>,
): Promise<Page<T>> {
  let query = select(filtered);
  if (request.cursor !== undefined) {
    const key = decodeCursor(request.cursor, order.patterns);
    const values = order.values ? order.values(key) : key;
    const columns = sql.join(order.columns.map(expression));
    query = query.where(sql<boolean>`(${columns}) ${sql.raw(order.direction === 'asc' ? '>' : '<')} (${sql.join(values)})`);
  } else query = query.offset(offsetOf(request));
  for (const column of order.columns) query = query.orderBy(expression(column), order.direction);
  const [rows, total] = await Promise.all([query.limit(request.perPage + 1).execute(), countOf(db, filtered, request.count === 'true')]);
  const list = rows.slice(0, request.perPage);
  const last = list.at(-1);
  return {
    list: list.map(view),
    page: request.cursor === undefined ? request.page : 0,
    perPage: request.perPage,
    total,
    nextCursor: rows.length > request.perPage && last !== undefined ? encodeCursor(order.key(last)) : null,
  };
}

function expression(column: string | RawBuilder<unknown>): RawBuilder<unknown> {
  return typeof column === 'string' ? sql.ref(column) : column;
}

/** Every row when asked; else at most COUNT_CAP + 1 rows of the filter's index range, and null past the cap. */
async function countOf<TB extends keyof Database>(db: Kysely<Database>, filtered: SelectQueryBuilder<Database, TB, object>, exact: boolean): Promise<number | null> {
  if (exact) return Number((await filtered.select(sql<string | number>`count(*)`.as('total')).executeTakeFirstOrThrow()).total);
  const capped = filtered.select(sql<number>`1`.as('one')).limit(COUNT_CAP + 1);
  const { rows } = await sql<{ total: string | number }>`select count(*) as total from (${capped}) as capped`.execute(db);
  const total = Number(rows[0]?.total ?? 0);
  return total > COUNT_CAP ? null : total;
}

/** Cursor parts: an ISO 8601 instant as the store writes it, an id, any text (a name). */
export const INSTANT_KEY = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/;
export const ID_KEY = /^[A-Za-z0-9._:-]{1,200}$/;
export const TEXT_KEY = /^\P{Cc}{1,400}$/u;

/** The order most lists page in: oldest first, the id breaking ties (an index on (…, created_at, id) serves it). */
export function oldestFirst<Row extends { readonly created_at: string; readonly id: string }>(): KeysetOrder<Row> {
  return { columns: ['created_at', 'id'], direction: 'asc', key: (row) => [row.created_at, row.id], patterns: [INSTANT_KEY, ID_KEY] };
}
