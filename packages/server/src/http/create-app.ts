import { randomUUID } from 'node:crypto';
import { OpenAPIHono } from '@hono/zod-openapi';
import type { Certificate } from '@fleetpki/pki';
import { HTTPException } from 'hono/http-exception';
import { bodyLimit } from 'hono/body-limit';
import type { PkiDeps } from '../domain/issuance/index.js';
import type { Logger } from '../logger.js';
import { isServiceError, ServiceError } from '../service-error.js';
import type { AppEnv } from './app-env.js';
import { requireApiKey } from './auth.js';
import { forgetKeysAndProjects } from '../domain/management/index.js';
import { internalError, problemResponse } from './problem-response.js';
import { logRequest, requestIdOf } from './request-log.js';
import { validationFailure } from './validation-failure.js';
import { apiKeyRoutes } from './routes/api-keys.js';
import { revocationRoutes } from './routes/revocations.js';
import { deviceCertificateRoutes } from './routes/device-certificates.js';
import { caCrlRoutes } from './routes/ca-crls.js';
import { healthRoutes } from './routes/health.js';
import { metricsRoute } from './routes/metrics.js';
import { routePath } from 'hono/route';
import type { Readiness } from '../platform/readiness.js';
import { CaCrlSchema } from './schemas.js';
import { pkiPublicationRoutes } from './routes/pki-publication.js';
import { cmpRoutes } from './routes/cmp.js';
import type { ManagedCaPublication } from '../domain/revocation/index.js';
import { auditRoutes } from './routes/audit.js';
import { certificateRoutes } from './routes/certificates.js';
import { consoleRoutes } from './console-static.js';
import { deviceCredentialRoutes } from './routes/device-credentials.js';
import { deviceRoutes } from './routes/devices.js';
import { DEVICE_IMPORT_PATH, deviceImportRoutes } from './routes/device-import.js';
import { importFormatOf } from './device-import-rows.js';
import { pkiRoutes } from './routes/pki.js';
import type { SecretSealer } from '../domain/shared/index.js';
import { parseJsonBody } from './json-body.js';
import { bodyTooLarge } from '../edge/request-body.js';
import { projectRoutes } from './routes/projects.js';
import { serverCaRoutes } from './routes/server-ca.js';
import { tokenKeyRoutes, type TokenRoutesOptions } from './routes/token-keys.js';
import { webhookRoutes } from './routes/webhooks.js';

/** Bound on a request body: a CA bundle of 100 certificates in base64 fits with room to spare. */
export const MAX_BODY_BYTES = 1024 * 1024;
/** A revocation request names up to 10,000 certificates (20-octet serials under a CA id take ~100 bytes each). */
export const MAX_REVOCATION_BODY_BYTES = 2 * MAX_BODY_BYTES;
/** A CRL of 100,000 entries is about 4 MB of DER, over 5 MB in base64 JSON. */
export const MAX_CRL_BODY_BYTES = 16 * MAX_BODY_BYTES;

export interface AppOptions {
  readonly deps: PkiDeps;
  /** What managed CAs publish (CRL, OCSP), shared with the OCSP fast path. */
  readonly publication: ManagedCaPublication;
  readonly logger: Logger;
  readonly platformRoot: Certificate;
  readonly version: string;
  /** The built web console served at `/`; a page saying it is not built when absent. */
  readonly consoleDir?: string | undefined;
  /** The master key that seals device pre-shared keys, loaded on first use. */
  readonly sealer: SecretSealer;
  /** What /readyz asks; /healthz and /readyz are served without a key. */
  readonly readiness: Readiness;
  /** The Prometheus metrics: GET /metrics with the admin key, and every request counted by route. */
  readonly metrics?: AppMetrics | undefined;
  /** Device tokens: the JWKS and provider configuration (no key), the signing keys (admin key). */
  readonly tokens: TokenRoutesOptions;
  /** Webhook targets may be loopback, link-local or private (`serve --allow-private-webhooks`). */
  readonly allowPrivateWebhooks?: boolean | undefined;
}

/** What the app needs of the metrics: a scrape, and a count per request. */
export interface AppMetrics {
  scrape(): Promise<{ contentType: string; body: string }>;
  httpRequest(route: string, status: number): void;
}

/** The management API (DESIGN §5) as a fetch handler: routes, auth, limits, problem errors, OpenAPI. */
export function createManagementApp(options: AppOptions): OpenAPIHono<AppEnv> {
  const { deps, logger } = options;
  const app = new OpenAPIHono<AppEnv>({
    // Schema failures become problems with the offending fields listed.
    defaultHook: (result, c) => (result.success ? undefined : problemResponse(c, validationFailure(result.error.issues))),
  });

  app.use('*', async (c, next) => {
    const requestId = requestIdOf(c.req.header('x-request-id'), randomUUID);
    c.set('requestId', requestId);
    const started = performance.now();
    let refused = false;
    try {
      await next();
      // Refused for its key, a request changed nothing: keyless POSTs must not empty the cache for everyone.
      refused = c.res.status === 401 || c.res.status === 403;
    } finally {
      // A change through the API (a key revoked, a project's settings) reaches the issue route's cached reads at once.
      if (c.req.method !== 'GET' && c.req.method !== 'HEAD' && !refused) forgetKeysAndProjects(deps.db);
    }
    c.header('x-request-id', requestId);
    logRequest(logger, requestId, c.req.method, c.req.path, c.res.status, started);
    // The route template that answered (never the raw path: the label's values stay bounded).
    options.metrics?.httpRequest(c.res.status === 404 && routePath(c, -1).endsWith('*') ? 'unmatched' : routePath(c, -1), c.res.status);
  });
  const bodyLimitOf = (maxSize: number) => bodyLimit({ maxSize, onError: (c) => problemResponse(c, bodyTooLarge(maxSize)) });
  const defaultLimit = bodyLimitOf(MAX_BODY_BYTES);
  const revocationLimit = bodyLimitOf(MAX_REVOCATION_BODY_BYTES);
  const crlLimit = bodyLimitOf(MAX_CRL_BODY_BYTES);
  // Revocation requests (10,000 entries) and CRLs (100,000 entries, in base64) are larger than the rest.
  app.use('/v1/*', (c, next) => {
    // A device import is streamed, row by row, and bounds itself (device-import-rows.ts) — only
    // a POST in one of its formats: anything else to that path keeps the default limit.
    if (c.req.method === 'POST' && DEVICE_IMPORT_PATH.test(c.req.path) && importFormatOf(c.req.header('content-type')) !== undefined) return next();
    if (/^\/v1\/projects\/[^/]+\/revocations$/.test(c.req.path)) return revocationLimit(c, next);
    if (/^\/v1\/projects\/[^/]+\/certificates\/[^/]+\/crl$/.test(c.req.path)) return crlLimit(c, next);
    return defaultLimit(c, next);
  });
  // A JSON body is read here, once, as the fast path reads it: UTF-8 (hono's reader would replace
  // bad bytes with U+FFFD and store that), then JSON, each refused with one code and one wording.
  app.use('/v1/*', async (c, next) => {
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD' && /^application\/json\b/i.test(c.req.header('content-type') ?? '')) {
      parseJsonBody(new Uint8Array(await c.req.arrayBuffer()));
    }
    await next();
  });
  healthRoutes(options.readiness, app);
  if (options.metrics) metricsRoute(options.metrics, deps, app);
  app.use('/v1/projects', requireApiKey(deps));
  app.use('/v1/projects/*', requireApiKey(deps));
  app.use('/v1/audit', requireApiKey(deps));

  app.openAPIRegistry.registerComponent('securitySchemes', 'ApiKey', { type: 'apiKey', in: 'header', name: 'x-api-key' });
  // A schema first met wrapped in .nullable() would become a nullable component (every use of it
  // then nullable); one registered before the routes keeps its own shape.
  app.openAPIRegistry.register('CaCrl', CaCrlSchema);
  projectRoutes(deps, app);
  certificateRoutes(deps, app);
  deviceImportRoutes(deps, app);
  deviceRoutes(deps, app);
  deviceCredentialRoutes(deps, options.sealer, app);
  webhookRoutes(deps, { sealer: options.sealer, allowPrivate: options.allowPrivateWebhooks === true }, app);
  apiKeyRoutes(deps, app);
  revocationRoutes(deps, app);
  deviceCertificateRoutes(deps, app);
  caCrlRoutes(deps, app);
  auditRoutes(deps, app);
  pkiRoutes(deps, app);
  pkiPublicationRoutes(options.publication, app);
  cmpRoutes(app);
  serverCaRoutes(options.platformRoot, app);
  tokenKeyRoutes(deps, options.tokens, app);
  app.doc('/openapi.json', {
    openapi: '3.0.3',
    info: { title: 'fleetpki management API', version: options.version, description: 'Certificate-based device authentication for IoT fleets (DESIGN §5).' },
  });
  // Last: every other GET is the web console's.
  consoleRoutes(app, options.consoleDir);

  app.notFound((c) => problemResponse(c, new ServiceError('ROUTE_NOT_FOUND', `no route ${c.req.method} ${c.req.path}`)));
  app.onError((error, c) => {
    if (isServiceError(error)) return problemResponse(c, error);
    if (error instanceof HTTPException) return problemResponse(c, fromHttpException(error));
    logger.log('error', 'unhandled error', { requestId: c.var.requestId, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    return problemResponse(c, internalError(c.var.requestId));
  });
  return app;
}

/** Hono's own refusals (malformed JSON, a wrong content type) carry statuses, not codes. */
function fromHttpException(error: HTTPException): ServiceError {
  if (error.status === 415) return new ServiceError('UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json');
  if (error.status === 413) return bodyTooLarge(MAX_BODY_BYTES);
  if (error.status === 400) return new ServiceError('MALFORMED_JSON', `the request body is not valid JSON: ${error.message}`);
  return new ServiceError('VALIDATION_FAILED', error.message);
}
