import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { createProjectApiKey, listProjectApiKeys, revokeProjectApiKey } from '../../domain/management/index.js';
import { projectForPrincipal } from '../../domain/management/index.js';
import type { ServiceDeps } from '../../domain/shared/index.js';
import type { AppEnv } from '../app-env.js';
import { jsonBody, jsonResponse } from '../route-helpers.js';
import { ApiKey, ApiKeyCreate, ApiKeyPage, NewApiKey, PageQuery, problemResponses, ProjectIdParam, pathParam, SECURITY } from '../schemas.js';

export function apiKeyRoutes(deps: ServiceDeps, app: OpenAPIHono<AppEnv>): void {
  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/projects/{projectId}/api-keys',
      tags: ['api-keys'],
      summary: 'Create a project API key (its secret is in this response only)',
      security: SECURITY,
      request: { params: ProjectIdParam, body: { ...jsonBody(ApiKeyCreate), required: false } },
      responses: { 201: jsonResponse(NewApiKey, 'the new key'), ...problemResponses(400, 401, 403, 404) },
    }),
    async (c) => {
      const project = await projectForPrincipal(deps, c.var.principal, c.req.valid('param').projectId);
      return c.json(await createProjectApiKey(deps, c.var.principal, project, c.req.valid('json')), 201);
    },
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/projects/{projectId}/api-keys',
      tags: ['api-keys'],
      summary: 'List a project’s API keys (never their secrets)',
      security: SECURITY,
      request: { params: ProjectIdParam, query: PageQuery },
      responses: { 200: jsonResponse(ApiKeyPage, 'a page of keys'), ...problemResponses(400, 401, 403, 404) },
    }),
    async (c) => {
      const project = await projectForPrincipal(deps, c.var.principal, c.req.valid('param').projectId);
      return c.json(await listProjectApiKeys(deps, project, c.req.valid('query')), 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'delete',
      path: '/v1/projects/{projectId}/api-keys/{apiKeyId}',
      tags: ['api-keys'],
      summary: 'Revoke a project API key',
      security: SECURITY,
      request: { params: ProjectIdParam.extend({ apiKeyId: pathParam('apiKeyId') }) },
      responses: { 200: jsonResponse(ApiKey, 'the revoked key'), ...problemResponses(401, 403, 404) },
    }),
    async (c) => {
      const { projectId, apiKeyId } = c.req.valid('param');
      const project = await projectForPrincipal(deps, c.var.principal, projectId);
      return c.json(await revokeProjectApiKey(deps, c.var.principal, project, apiKeyId), 200);
    },
  );
}
