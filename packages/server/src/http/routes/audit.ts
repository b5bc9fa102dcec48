import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { listAuditEvents } from '../../domain/shared/index.js';
import { projectForPrincipal } from '../../domain/management/index.js';
import type { ServiceDeps } from '../../domain/shared/index.js';
import { ServiceError } from '../../service-error.js';
import type { AppEnv } from '../app-env.js';
import { jsonResponse } from '../route-helpers.js';
import { AuditEventPage, AuditQuery, problemResponses, ProjectIdParam, SECURITY } from '../schemas.js';

export function auditRoutes(deps: ServiceDeps, app: OpenAPIHono<AppEnv>): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/audit',
      tags: ['audit'],
      summary: 'The whole platform’s audit log, newest first (admin key): deleted projects and refusals tied to no project included',
      security: SECURITY,
      request: { query: AuditQuery },
      responses: { 200: jsonResponse(AuditEventPage, 'a page of audit events'), ...problemResponses(400, 401, 403) },
    }),
    async (c) => {
      if (c.var.principal.kind !== 'admin') throw new ServiceError('ADMIN_KEY_REQUIRED', 'the platform audit log needs the admin API key; a project key reads /v1/projects/{projectId}/audit');
      return c.json(await listAuditEvents(deps, null, c.req.valid('query')), 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/projects/{projectId}/audit',
      tags: ['audit'],
      summary: 'The project’s audit log, newest first: who changed what, and when',
      security: SECURITY,
      request: { params: ProjectIdParam, query: AuditQuery },
      responses: { 200: jsonResponse(AuditEventPage, 'a page of audit events'), ...problemResponses(400, 401, 403, 404) },
    }),
    async (c) => {
      const project = await projectForPrincipal(deps, c.var.principal, c.req.valid('param').projectId);
      return c.json(await listAuditEvents(deps, project.id, c.req.valid('query')), 200);
    },
  );
}
