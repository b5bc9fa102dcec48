import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { authenticateForProject } from '../domain/management/index.js';
import { issueThroughApi } from '../domain/issuance/index.js';
import type { PkiDeps } from '../domain/issuance/index.js';
import { readBoundedBody, refuseDeclaredOversize } from '../edge/request-body.js';
import type { Logger } from '../logger.js';
import { isServiceError, ServiceError } from '../service-error.js';
import { parseJsonBody } from './json-body.js';
import { internalError, problemHeaders } from './problem-response.js';
import { logRequest, requestIdOf } from './request-log.js';
import { validationFailure } from './validation-failure.js';
import { MAX_BODY_BYTES } from './create-app.js';
import { problemDocument } from '../edge/problem.js';
import { PROBLEM_STATUS } from '../edge/problem-status.js';
import { ISSUE_PATH, IssueRequest } from './routes/pki.js';
import { NO_ROUTE_COUNTER, type RouteCounter } from './route-counter.js';

/**
 * `POST /v1/projects/{projectId}/pki/issue` without the framework: a factory line calls it
 * thousands of times a minute, and the fetch adapter's Request/Response/stream objects cost more
 * than the rest of the request around the signature (measured by npm run bench:pki). Same order
 * and answers as the app: declared body limit, API key (read with the project), content type,
 * body, JSON, schema, the project, then the one issuance function;
 * the same problem documents and request log line. Other requests go to the app.
 */
export function issueFastPath(deps: PkiDeps, logger: Logger, fallback: (req: IncomingMessage, res: ServerResponse) => void, count: RouteCounter = NO_ROUTE_COUNTER): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const match = req.method === 'POST' ? ISSUE_PATH.exec(path) : null;
    if (!match) return fallback(req, res);
    const requestId = requestIdOf(req.headers['x-request-id'] as string | undefined, randomUUID);
    const started = performance.now();
    const answer = (status: number, body: unknown, headers: Record<string, string>): void => {
      const text = JSON.stringify(body);
      res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(text), 'x-request-id': requestId });
      res.end(text);
      logRequest(logger, requestId, 'POST', path, status, started);
      count('/v1/projects/:projectId/pki/issue', status);
    };
    // Counted by the recorder from arrival, so concurrent requests still reading their bodies or
    // keys are waited for by the batch commit (issuance-recorder.ts); handed to the pipeline below.
    deps.recorder.enter();
    let handedOver = false;
    const handle = async (): Promise<void> => {
      // The app's order: a declared body over the limit, the key, the body's checks, the project.
      refuseDeclaredOversize(req, MAX_BODY_BYTES);
      // As the router does: a path parameter that is not valid percent-encoding stays as sent (and names no project).
      const { principal, project } = await authenticateForProject(deps, req.headers['x-api-key'] as string | undefined, pathParameter(match[1] as string));
      if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) throw new ServiceError('UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json');
      const body = await readBoundedBody(req, MAX_BODY_BYTES);
      const json = parseJsonBody(body);
      const parsed = IssueRequest.safeParse(json);
      if (!parsed.success) throw validationFailure(parsed.error.issues);
      const row = project();
      handedOver = true;
      answer(201, await issueThroughApi(deps, principal, row, parsed.data, true), { 'content-type': 'application/json' });
    };
    handle().catch((error: unknown) => {
      if (!handedOver) deps.recorder.leave();
      if (res.headersSent) return void res.destroy();
      if (isServiceError(error)) {
        const status = PROBLEM_STATUS[error.code];
        answer(status, problemDocument(error, path), problemHeaders(status));
        return;
      }
      logger.log('error', 'unhandled error', { requestId, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
      answer(500, problemDocument(internalError(requestId), path), problemHeaders(500));
    });
  };
}

function pathParameter(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}
