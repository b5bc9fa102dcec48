import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { encodePem } from '@fleetpki/pki';
import type { ManagedCaPublication } from '../../domain/revocation/index.js';
import type { AppEnv } from '../app-env.js';
import { MAX_OCSP_REQUEST_BYTES } from '../ocsp-fast-path.js';
import { pathParam, problemResponses } from '../schemas.js';


const OCSP_RESPONSE = { 200: { description: 'an OCSP response (RFC 6960), successful or an OCSP error status', content: { 'application/ocsp-response': { schema: z.string().openapi({ format: 'binary' }) } } } };

/**
 * What managed CAs publish, without a key (DESIGN §8): each CA's CRL, and an OCSP responder
 * taking RFC 6960 POSTs and RFC 5019 GETs (the request in base64, URL-encoded, in the path).
 */
export function pkiPublicationRoutes(publication: ManagedCaPublication, app: OpenAPIHono<AppEnv>): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/pki/cas/{caId}/crl',
      tags: ['pki'],
      summary: 'A managed CA’s CRL (DER, or PEM with ?format=pem), re-signed when the project’s revocations change',
      request: { params: z.object({ caId: pathParam('caId') }), query: z.object({ format: z.enum(['der', 'pem']).default('der') }) },
      responses: {
        200: { description: 'the CRL', content: { 'application/pkix-crl': { schema: z.string().openapi({ format: 'binary' }) }, 'application/x-pem-file': { schema: z.string() } } },
        ...problemResponses(404, 502),
      },
    }),
    async (c) => {
      const der = await publication.crl(c.req.valid('param').caId);
      return c.req.valid('query').format === 'pem' ? c.body(encodePem('X509 CRL', der), 200, { 'content-type': 'application/x-pem-file' }) : c.body(new Uint8Array(der), 200, { 'content-type': 'application/pkix-crl' });
    },
  );
  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/pki/ocsp',
      tags: ['pki'],
      summary: 'OCSP (RFC 6960): the body is a DER OCSPRequest (application/ocsp-request)',
      responses: OCSP_RESPONSE,
    }),
    async (c) => {
      const body = Buffer.from(await c.req.arrayBuffer());
      const der = await publication.ocsp(body.subarray(0, MAX_OCSP_REQUEST_BYTES));
      return c.body(new Uint8Array(der), 200, { 'content-type': 'application/ocsp-response' });
    },
  );
  // RFC 5019 §5: GET {url}/{url-encoding of base64 of the DER request}; base64 may hold '/'.
  app.get('/v1/pki/ocsp/*', async (c) => {
    const encoded = decodeURIComponent(c.req.path.slice('/v1/pki/ocsp/'.length));
    const der = await publication.ocsp(Buffer.from(encoded, 'base64').subarray(0, MAX_OCSP_REQUEST_BYTES));
    return c.body(new Uint8Array(der), 200, { 'content-type': 'application/ocsp-response', 'cache-control': 'max-age=1800, public, no-transform, must-revalidate' });
  });
}
