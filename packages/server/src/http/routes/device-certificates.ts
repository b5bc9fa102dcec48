import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { caBlastRadius, getDeviceCertificate, listDeviceCertificates, projectForPrincipal, requestRenewals } from '../../domain/management/index.js';
import type { ServiceDeps } from '../../domain/shared/index.js';
import type { AppEnv } from '../app-env.js';
import { jsonBody, jsonResponse } from '../route-helpers.js';
import { CaBlastRadiusSchema, RenewalRequestedSchema, RenewalRequestSchema, DeviceCertificatePage, DeviceCertificateQuerySchema, DeviceCertificateSchema, PageQuery, pathParam, problemResponses, ProjectIdParam, SECURITY } from '../schemas.js';

/** DESIGN §8: the inventory of device certificates, per project and per device. */
export function deviceCertificateRoutes(deps: ServiceDeps, app: OpenAPIHono<AppEnv>): void {
  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/projects/{projectId}/renewals',
      tags: ['device-certificates'],
      summary: 'Renew now: move the renewAfter of the named devices’ certificates (or of every device under a CA certificate) to this instant',
      security: SECURITY,
      request: { params: ProjectIdParam, body: jsonBody(RenewalRequestSchema) },
      responses: { 201: jsonResponse(RenewalRequestedSchema, 'the renewal asked for'), ...problemResponses(400, 401, 403, 404) },
    }),
    async (c) => {
      const project = await projectForPrincipal(deps, c.var.principal, c.req.valid('param').projectId);
      return c.json(await requestRenewals(deps, c.var.principal, project, c.req.valid('json')), 201);
    },
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/projects/{projectId}/device-certificates',
      tags: ['device-certificates'],
      summary: 'List the device certificates the project has accepted or issued, soonest to expire first',
      security: SECURITY,
      request: { params: ProjectIdParam, query: DeviceCertificateQuerySchema },
      responses: { 200: jsonResponse(DeviceCertificatePage, 'a page of device certificates'), ...problemResponses(400, 401, 403, 404) },
    }),
    async (c) => {
      const project = await projectForPrincipal(deps, c.var.principal, c.req.valid('param').projectId);
      return c.json(await listDeviceCertificates(deps, project, c.req.valid('query')), 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/projects/{projectId}/device-certificates/{fingerprint}',
      tags: ['device-certificates'],
      summary: 'Get one device certificate by its SHA-256 fingerprint',
      security: SECURITY,
      request: { params: ProjectIdParam.extend({ fingerprint: pathParam('fingerprint') }) },
      responses: { 200: jsonResponse(DeviceCertificateSchema, 'the device certificate'), ...problemResponses(401, 403, 404) },
    }),
    async (c) => {
      const { projectId, fingerprint } = c.req.valid('param');
      const project = await projectForPrincipal(deps, c.var.principal, projectId);
      return c.json(await getDeviceCertificate(deps, project, fingerprint), 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/projects/{projectId}/devices/{deviceId}/certificates',
      tags: ['device-certificates'],
      summary: 'List the certificates a device has presented or been issued',
      security: SECURITY,
      request: { params: ProjectIdParam.extend({ deviceId: pathParam('deviceId') }), query: DeviceCertificateQuerySchema },
      responses: { 200: jsonResponse(DeviceCertificatePage, 'a page of the device’s certificates'), ...problemResponses(400, 401, 403, 404) },
    }),
    async (c) => {
      const { projectId, deviceId } = c.req.valid('param');
      const project = await projectForPrincipal(deps, c.var.principal, projectId);
      return c.json(await listDeviceCertificates(deps, project, c.req.valid('query'), deviceId), 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/projects/{projectId}/certificates/{caId}/devices',
      tags: ['certificates'],
      summary: 'The devices a CA certificate’s disable, delete or CRL would cut (their latest accepted certificate chains to it), with counts',
      security: SECURITY,
      request: { params: ProjectIdParam.extend({ caId: pathParam('caId') }), query: PageQuery },
      responses: { 200: jsonResponse(CaBlastRadiusSchema, 'the counts and a page of devices'), ...problemResponses(400, 401, 403, 404) },
    }),
    async (c) => {
      const { projectId, caId } = c.req.valid('param');
      const project = await projectForPrincipal(deps, c.var.principal, projectId);
      return c.json(await caBlastRadius(deps, project, caId, c.req.valid('query')), 200);
    },
  );
}
