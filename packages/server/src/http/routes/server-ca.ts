import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { encodePem, type Certificate } from '@fleetpki/pki';
import type { AppEnv } from '../app-env.js';

/** GET /v1/server-ca: the platform root devices pin (DESIGN §5); public, it is no secret. */
export function serverCaRoutes(root: Certificate, app: OpenAPIHono<AppEnv>): void {
  // Both formats from the same DER, so they can never disagree.
  const der = new Uint8Array(root.der);
  const pem = encodePem('CERTIFICATE', root.der);
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/server-ca',
      tags: ['platform'],
      summary: 'The platform root CA that devices use to verify the server',
      request: { query: z.object({ format: z.enum(['pem', 'der']).default('pem') }) },
      responses: {
        200: {
          description: 'the root certificate',
          content: { 'application/x-pem-file': { schema: z.string() }, 'application/pkix-cert': { schema: z.string().openapi({ format: 'binary' }) } },
        },
      },
    }),
    (c) =>
      c.req.valid('query').format === 'der'
        ? c.body(der, 200, { 'content-type': 'application/pkix-cert' })
        : c.body(pem, 200, { 'content-type': 'application/x-pem-file' }),
  );
}
