import { z, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../app-env.js';
import { problemResponses } from '../schemas.js';

const PKIXCMP = 'application/pkixcmp';
const CMP_MESSAGE = { required: true, content: { [PKIXCMP]: { schema: z.string().openapi({ format: 'binary', description: 'a DER PKIMessage (RFC 4210)' }) } } };
const CMP_RESPONSE = { 200: { description: 'a PKIMessage (RFC 4210): the answer, or an error message with its PKIFailureInfo', content: { [PKIXCMP]: { schema: z.string().openapi({ format: 'binary' }) } } } };

/**
 * CMP over HTTP on the management port (RFC 6712, RFC 9483 §6.1), as on the device gateway: a
 * factory line or an RA reaches it without device TLS; no API key, each message is protected
 * itself. Documented here; served before the framework by http/cmp-fast-path.ts (the transfer
 * is edge/cmp-transfer.ts, shared with the gateway), so no handler is registered.
 */
export function cmpRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openAPIRegistry.registerPath({
    method: 'post',
    path: '/.well-known/cmp',
    tags: ['pki'],
    summary: 'CMP (RFC 9483): the project is the enrollment token’s or the signer’s',
    request: { body: CMP_MESSAGE },
    responses: { ...CMP_RESPONSE, ...problemResponses(413, 415) },
  });
  app.openAPIRegistry.registerPath({
    method: 'post',
    path: '/.well-known/cmp/p/{projectId}',
    tags: ['pki'],
    summary: 'CMP (RFC 9483) for one project: a token of another project is refused',
    request: { params: z.object({ projectId: z.string().regex(/^[a-z0-9][a-z0-9-]{1,62}$/) }), body: CMP_MESSAGE },
    responses: { ...CMP_RESPONSE, ...problemResponses(413, 415) },
  });
}
