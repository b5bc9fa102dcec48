import type { Logger } from '../logger.js';

/** The one request log line of the management API (the app's middleware and the fast path). */
export function logRequest(logger: Logger, requestId: string, method: string, path: string, status: number, startedAt: number): void {
  logger.log('info', 'request', { requestId, method, path, status, durationMs: Math.round((performance.now() - startedAt) * 10) / 10 });
}

/** The request's id: the caller's `x-request-id` (bounded), or a fresh one. */
export function requestIdOf(header: string | undefined, fresh: () => string): string {
  return header?.slice(0, 100) ?? fresh();
}
