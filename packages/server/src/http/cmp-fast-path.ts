import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { PkiDeps } from '../domain/issuance/index.js';
import { CMP_PATH, handleCmp } from '../edge/cmp-transfer.js';
import { problemDocument } from '../edge/problem.js';
import { PROBLEM_STATUS } from '../edge/problem-status.js';
import type { Logger } from '../logger.js';
import { isServiceError } from '../service-error.js';
import { internalError, problemHeaders } from './problem-response.js';
import { logRequest, requestIdOf } from './request-log.js';
import { NO_ROUTE_COUNTER, type RouteCounter } from './route-counter.js';

/**
 * CMP on the management port (`POST /.well-known/cmp[/p/{projectId}]`) without the framework, as
 * the issue route (issue-fast-path.ts): the fetch adapter's Request/Response objects cost a
 * factory line's enrollment as much as they cost its API issuance (bench:cmp). The same answers
 * as the app's routes (http/routes/cmp.ts, kept for the OpenAPI document): a PKIMessage with 200,
 * or a problem for a wrong media type or an oversize body; the same request log line.
 */
export function cmpFastPath(deps: PkiDeps, logger: Logger, fallback: (req: IncomingMessage, res: ServerResponse) => void, count: RouteCounter = NO_ROUTE_COUNTER): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const match = req.method === 'POST' ? CMP_PATH.exec(path) : null;
    if (!match) return fallback(req, res);
    const requestId = requestIdOf(req.headers['x-request-id'] as string | undefined, randomUUID);
    const started = performance.now();
    const route = match[1] === undefined ? '/.well-known/cmp' : '/.well-known/cmp/p/:projectId';
    res.setHeader('x-request-id', requestId);
    handleCmp(deps, req, res, match[1]).then(
      () => {
        logRequest(logger, requestId, 'POST', path, 200, started);
        count(route, 200);
      },
      (error: unknown) => {
        if (res.headersSent) return void res.destroy();
        let status = 500;
        let document;
        if (isServiceError(error)) {
          status = PROBLEM_STATUS[error.code];
          document = problemDocument(error, path);
        } else {
          logger.log('error', 'unhandled error', { requestId, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
          document = problemDocument(internalError(requestId), path);
        }
        const text = JSON.stringify(document);
        // The rest of an oversize body is never read: the connection cannot carry another request.
        res.writeHead(status, { ...problemHeaders(status), 'content-length': Buffer.byteLength(text), ...(status === 413 ? { connection: 'close' } : {}) });
        res.end(text);
        logRequest(logger, requestId, 'POST', path, status, started);
        count(route, status);
      },
    );
  };
}
