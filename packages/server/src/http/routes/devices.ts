import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { createDevice, deleteDevice, getDevice, listDevices, updateDevice } from '../../domain/management/index.js';
import { projectForPrincipal } from '../../domain/management/index.js';
import type { ServiceDeps } from '../../domain/shared/index.js';
import type { AppEnv } from '../app-env.js';
import { jsonBody, jsonResponse } from '../route-helpers.js';
import { Device, DeviceCreate, DevicePage, DeviceQuery, DeviceUpdate, problemResponses, ProjectIdParam, pathParam, SECURITY } from '../schemas.js';

const DeviceParams = ProjectIdParam.extend({ deviceId: pathParam('deviceId') });

export function deviceRoutes(deps: ServiceDeps, app: OpenAPIHono<AppEnv>): void {
  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/projects/{projectId}/devices',
      tags: ['devices'],
      summary: 'Pre-provision a device by name (its first certificate with CN = name is associated)',
      security: SECURITY,
      request: { params: ProjectIdParam, body: jsonBody(DeviceCreate) },
      responses: { 201: jsonResponse(Device, 'the new device'), ...problemResponses(400, 401, 403, 404, 409) },
    }),
    async (c) => {
      const project = await projectForPrincipal(deps, c.var.principal, c.req.valid('param').projectId);
      return c.json(await createDevice(deps, c.var.principal, project, c.req.valid('json')), 201);
    },
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/projects/{projectId}/devices',
      tags: ['devices'],
      summary: 'List devices, filtered by certificateId, name, name prefix, enabled or last seen',
      security: SECURITY,
      request: { params: ProjectIdParam, query: DeviceQuery },
      responses: { 200: jsonResponse(DevicePage, 'a page of devices'), ...problemResponses(400, 401, 403, 404) },
    }),
    async (c) => {
      const project = await projectForPrincipal(deps, c.var.principal, c.req.valid('param').projectId);
      const { page, perPage, cursor, count, certificateId, name, namePrefix, enabled, lastSeenBefore } = c.req.valid('query');
      const filter = { certificateId, name, namePrefix, lastSeenBefore, enabled: enabled === undefined ? undefined : enabled === 'true' };
      return c.json(await listDevices(deps, project, filter, { page, perPage, cursor, count }), 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/projects/{projectId}/devices/{deviceId}',
      tags: ['devices'],
      summary: 'Get a device',
      security: SECURITY,
      request: { params: DeviceParams },
      responses: { 200: jsonResponse(Device, 'the device'), ...problemResponses(401, 403, 404) },
    }),
    async (c) => {
      const { projectId, deviceId } = c.req.valid('param');
      const project = await projectForPrincipal(deps, c.var.principal, projectId);
      return c.json(await getDevice(deps, project, deviceId), 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'patch',
      path: '/v1/projects/{projectId}/devices/{deviceId}',
      tags: ['devices'],
      summary: 'Rename, enable/disable, or set a missing certificate ID',
      security: SECURITY,
      request: { params: DeviceParams, body: jsonBody(DeviceUpdate) },
      responses: { 200: jsonResponse(Device, 'the updated device'), ...problemResponses(400, 401, 403, 404, 409) },
    }),
    async (c) => {
      const { projectId, deviceId } = c.req.valid('param');
      const project = await projectForPrincipal(deps, c.var.principal, projectId);
      return c.json(await updateDevice(deps, c.var.principal, project, deviceId, c.req.valid('json')), 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'delete',
      path: '/v1/projects/{projectId}/devices/{deviceId}',
      tags: ['devices'],
      summary: 'Delete a device',
      security: SECURITY,
      request: { params: DeviceParams },
      responses: { 204: { description: 'deleted' }, ...problemResponses(401, 403, 404) },
    }),
    async (c) => {
      const { projectId, deviceId } = c.req.valid('param');
      const project = await projectForPrincipal(deps, c.var.principal, projectId);
      await deleteDevice(deps, c.var.principal, project, deviceId);
      return c.body(null, 204);
    },
  );
}
