import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { encodePem } from '@fleetpki/pki';
import { projectForPrincipal } from '../../domain/management/index.js';
import { getCaCrl, uploadCaCrl } from '../../domain/revocation/index.js';
import type { ServiceDeps } from '../../domain/shared/index.js';
import type { AppEnv } from '../app-env.js';
import { jsonBody, jsonResponse } from '../route-helpers.js';
import { CaCrlSchema, CaCrlUpload, CaCrlUploadResultSchema, pathParam, problemResponses, ProjectIdParam, SECURITY } from '../schemas.js';

const CrlParams = ProjectIdParam.extend({ caId: pathParam('caId') });

/** DESIGN §8: the CRL in force for an uploaded CA certificate; its entries are refused at every gateway. */
export function caCrlRoutes(deps: ServiceDeps, app: OpenAPIHono<AppEnv>): void {
  app.openapi(
    createRoute({
      method: 'put',
      path: '/v1/projects/{projectId}/certificates/{caId}/crl',
      tags: ['certificates'],
      summary: 'Put a CRL in force for a CA certificate: it must be that CA’s, complete, and newer than the one in force',
      security: SECURITY,
      request: {
        params: CrlParams,
        query: z.object({
          dryRun: z.enum(['true', 'false']).default('false').openapi({ description: 'check everything and answer what the CRL would cut, storing nothing' }),
        }),
        body: jsonBody(CaCrlUpload),
      },
      responses: { 200: jsonResponse(CaCrlUploadResultSchema, 'the CRL now in force (or that would be, under dryRun), and the devices it newly cuts'), ...problemResponses(400, 401, 403, 404, 409, 413, 422) },
    }),
    async (c) => {
      const { projectId, caId } = c.req.valid('param');
      const project = await projectForPrincipal(deps, c.var.principal, projectId);
      const dryRun = c.req.valid('query').dryRun === 'true';
      return c.json(await uploadCaCrl(deps, c.var.principal, project, caId, c.req.valid('json').crlFile, { dryRun }), 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/projects/{projectId}/certificates/{caId}/crl',
      tags: ['certificates'],
      summary: 'The CRL in force for a CA certificate (JSON, or the CRL itself with ?format=pem|der)',
      security: SECURITY,
      request: { params: CrlParams, query: z.object({ format: z.enum(['json', 'pem', 'der']).default('json') }) },
      responses: {
        200: {
          description: 'the CRL in force',
          content: {
            'application/json': { schema: CaCrlSchema },
            'application/x-pem-file': { schema: z.string() },
            'application/pkix-crl': { schema: z.string().openapi({ format: 'binary' }) },
          },
        },
        ...problemResponses(401, 403, 404),
      },
    }),
    async (c) => {
      const { projectId, caId } = c.req.valid('param');
      const project = await projectForPrincipal(deps, c.var.principal, projectId);
      const { crl, der } = await getCaCrl(deps, project, caId);
      const { format } = c.req.valid('query');
      if (format === 'pem') return c.body(encodePem('X509 CRL', der), 200, { 'content-type': 'application/x-pem-file' });
      if (format === 'der') return c.body(new Uint8Array(der), 200, { 'content-type': 'application/pkix-crl' });
      return c.json(crl, 200);
    },
  );
}
