import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ocspErrorResponse } from '@fleetpki/pki';
import type { ManagedCaPublication } from '../domain/revocation/index.js';
import { readBoundedBody } from '../edge/request-body.js';
import type { Logger } from '../logger.js';
import { logRequest, requestIdOf } from './request-log.js';
import { NO_ROUTE_COUNTER, type RouteCounter } from './route-counter.js';

/** Bound on an OCSP request: one asks about a handful of certificates. */
export const MAX_OCSP_REQUEST_BYTES = 64 * 1024;
const OCSP_PATH = '/v1/pki/ocsp';

/**
 * `POST /v1/pki/ocsp` without the framework, as the issue fast path is: relying parties ask it
 * per connection they verify, and a cached answer costs less than the fetch adapter's objects
 * around it (bench:revocation). The same answers as the app's route (both call
 * ManagedCaPublication.ocsp) and the same request log line; every other request goes on.
 */
export function ocspFastPath(publication: ManagedCaPublication, logger: Logger, next: (req: IncomingMessage, res: ServerResponse) => void, count: RouteCounter = NO_ROUTE_COUNTER): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if (req.method !== 'POST' || (req.url ?? '/').split('?')[0] !== OCSP_PATH) return next(req, res);
    const requestId = requestIdOf(req.headers['x-request-id'] as string | undefined, randomUUID);
    const started = performance.now();
    const answer = (der: Buffer): void => {
      res.writeHead(200, { 'content-type': 'application/ocsp-response', 'content-length': der.length, 'x-request-id': requestId });
      res.end(der);
      logRequest(logger, requestId, 'POST', OCSP_PATH, 200, started);
      count(OCSP_PATH, 200);
    };
    readBoundedBody(req, MAX_OCSP_REQUEST_BYTES)
      .then((body) => publication.ocsp(body))
      .then(answer, (error: unknown) => {
        if (res.headersSent) return void res.destroy();
        // An over-long body is a malformed request; anything else is the responder's fault (RFC 6960 §2.3).
        const tooLarge = (error as { code?: string }).code === 'BODY_TOO_LARGE';
        if (!tooLarge) logger.log('error', 'unhandled error', { requestId, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
        answer(ocspErrorResponse(tooLarge ? 'malformedRequest' : 'internalError'));
      });
  };
}
