import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { createPskCredential, listDeviceCredentials } from '../../domain/management/index.js';
import type { SecretSealer } from '../../domain/shared/index.js';
import { projectForPrincipal } from '../../domain/management/index.js';
import type { ServiceDeps } from '../../domain/shared/index.js';
import type { AppEnv } from '../app-env.js';
import { jsonBody, jsonResponse } from '../route-helpers.js';
import { DeviceCredential, DeviceCredentialCreate, DeviceCredentialPage, PageQuery, pathParam, problemResponses, ProjectIdParam, SECURITY } from '../schemas.js';

const DeviceParams = ProjectIdParam.extend({ deviceId: pathParam('deviceId') });

/** Device credentials (DESIGN §5, as Golioth's API): pre-shared keys for CoAP over DTLS. */
export function deviceCredentialRoutes(deps: ServiceDeps, sealer: SecretSealer, app: OpenAPIHono<AppEnv>): void {
  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/projects/{projectId}/devices/{deviceId}/credentials',
      tags: ['devices'],
      summary: 'Give a device a pre-shared key for CoAP/DTLS (stored encrypted; never shown again)',
      security: SECURITY,
      request: { params: DeviceParams, body: jsonBody(DeviceCredentialCreate) },
      responses: { 201: jsonResponse(DeviceCredential, 'the new credential, without its key'), ...problemResponses(400, 401, 403, 404, 409) },
    }),
    async (c) => {
      const { projectId, deviceId } = c.req.valid('param');
      const project = await projectForPrincipal(deps, c.var.principal, projectId);
      return c.json(await createPskCredential(deps, sealer, c.var.principal, project, deviceId, c.req.valid('json')), 201);
    },
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/projects/{projectId}/devices/{deviceId}/credentials',
      tags: ['devices'],
      summary: "List a device's credentials (identities, never keys)",
      security: SECURITY,
      request: { params: DeviceParams, query: PageQuery },
      responses: { 200: jsonResponse(DeviceCredentialPage, 'a page of credentials'), ...problemResponses(400, 401, 403, 404) },
    }),
    async (c) => {
      const { projectId, deviceId } = c.req.valid('param');
      const project = await projectForPrincipal(deps, c.var.principal, projectId);
      return c.json(await listDeviceCredentials(deps, project, deviceId, c.req.valid('query')), 200);
    },
  );
}
