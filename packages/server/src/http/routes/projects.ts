import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { createProject, deleteProject, expiringSoonCounts, listProjects, projectForPrincipal, projectView, updateProject } from '../../domain/management/index.js';
import type { ServiceDeps } from '../../domain/shared/index.js';
import type { AppEnv } from '../app-env.js';
import { jsonBody as body, jsonResponse as json } from '../route-helpers.js';
import { PageQuery, problemResponses, Project, ProjectCreate, ProjectIdParam, ProjectPage, ProjectUpdate, SECURITY } from '../schemas.js';


export function projectRoutes(deps: ServiceDeps, app: OpenAPIHono<AppEnv>): void {
  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/projects',
      tags: ['projects'],
      summary: 'Create a project (admin key)',
      security: SECURITY,
      request: { body: body(ProjectCreate) },
      responses: { 201: json(Project, 'the new project'), ...problemResponses(400, 401, 403, 409) },
    }),
    async (c) => c.json(await createProject(deps, c.var.principal, c.req.valid('json')), 201),
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/projects',
      tags: ['projects'],
      summary: 'List projects (a project key sees its own)',
      security: SECURITY,
      request: { query: PageQuery },
      responses: { 200: json(ProjectPage, 'a page of projects'), ...problemResponses(400, 401) },
    }),
    async (c) => {
      const page = await listProjects(deps, c.var.principal, c.req.valid('query'));
      const soon = await expiringSoonCounts(deps, page.list.map((p) => p.slug));
      return c.json({ ...page, list: page.list.map((p) => ({ ...p, certificatesExpiringSoon: soon.get(p.slug) ?? 0 })) }, 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/projects/{projectId}',
      tags: ['projects'],
      summary: 'Get a project',
      security: SECURITY,
      request: { params: ProjectIdParam },
      responses: { 200: json(Project, 'the project'), ...problemResponses(401, 403, 404) },
    }),
    async (c) => c.json(projectView(await projectForPrincipal(deps, c.var.principal, c.req.valid('param').projectId)), 200),
  );
  app.openapi(
    createRoute({
      method: 'patch',
      path: '/v1/projects/{projectId}',
      tags: ['projects'],
      summary: 'Rename a project, or change its settings (DESIGN §8; durations in seconds)',
      security: SECURITY,
      request: { params: ProjectIdParam, body: body(ProjectUpdate) },
      responses: { 200: json(Project, 'the updated project'), ...problemResponses(400, 401, 403, 404) },
    }),
    async (c) => c.json(await updateProject(deps, c.var.principal, c.req.valid('param').projectId, c.req.valid('json')), 200),
  );
  app.openapi(
    createRoute({
      method: 'delete',
      path: '/v1/projects/{projectId}',
      tags: ['projects'],
      summary: 'Delete a project with its CA certificates, devices and keys (admin key)',
      security: SECURITY,
      request: { params: ProjectIdParam },
      responses: { 204: { description: 'deleted' }, ...problemResponses(401, 403, 404) },
    }),
    async (c) => {
      await deleteProject(deps, c.var.principal, c.req.valid('param').projectId);
      return c.body(null, 204);
    },
  );
}
