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
