import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { projectForPrincipal } from '../../domain/management/index.js';
import { listRevocations, revokeCertificates } from '../../domain/revocation/index.js';
import type { ServiceDeps } from '../../domain/shared/index.js';
import type { AppEnv } from '../app-env.js';
import { jsonBody, jsonResponse } from '../route-helpers.js';
import { problemResponses, ProjectIdParam, RevocationCreate, RevocationOutcomeSchema, RevocationPage, RevocationQuerySchema, SECURITY } from '../schemas.js';

/** DESIGN §8: revoke a project's device certificates (by fingerprint, or by a CA's serial) and list what is revoked. */
export function revocationRoutes(deps: ServiceDeps, app: OpenAPIHono<AppEnv>): void {
  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/projects/{projectId}/revocations',
      tags: ['revocations'],
      summary: 'Revoke certificates: up to 10,000 in one transaction, one result each; refused at every gateway from then on',
      security: SECURITY,
      request: { params: ProjectIdParam, body: jsonBody(RevocationCreate) },
      responses: { 200: jsonResponse(RevocationOutcomeSchema, 'one result per certificate, in order'), ...problemResponses(400, 401, 403, 404, 413) },
    }),
    async (c) => {
      const project = await projectForPrincipal(deps, c.var.principal, c.req.valid('param').projectId);
      return c.json(await revokeCertificates(deps, c.var.principal, project, c.req.valid('json')), 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/projects/{projectId}/revocations',
      tags: ['revocations'],
      summary: 'List a project’s revocations, newest first',
      security: SECURITY,
      request: { params: ProjectIdParam, query: RevocationQuerySchema },
      responses: { 200: jsonResponse(RevocationPage, 'a page of revocations'), ...problemResponses(400, 401, 403, 404) },
    }),
    async (c) => {
      const project = await projectForPrincipal(deps, c.var.principal, c.req.valid('param').projectId);
      return c.json(await listRevocations(deps, project, c.req.valid('query')), 200);
    },
  );
}
