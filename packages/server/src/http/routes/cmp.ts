import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { MAX_CMP_MESSAGE_BYTES } from '@fleetpki/pki';
import { answerCmp, type PkiDeps } from '../../domain/issuance/index.js';
import { ServiceError } from '../../service-error.js';
import type { AppEnv } from '../app-env.js';
import { problemResponses } from '../schemas.js';
import { bodyTooLarge } from '../../edge/request-body.js';

const PKIXCMP = 'application/pkixcmp';
const CMP_RESPONSE = { 200: { description: 'a PKIMessage (RFC 4210): the answer, or an error message with its PKIFailureInfo', content: { [PKIXCMP]: { schema: z.string().openapi({ format: 'binary' }) } } } };

/**
 * CMP over HTTP on the management port (RFC 6712, RFC 9483 §6.1), as on the device gateway: a
 * factory line or an RA reaches it without device TLS. No API key: each message is protected
 * itself (an enrollment token's MAC).
 */
export function cmpRoutes(deps: PkiDeps, app: OpenAPIHono<AppEnv>): void {
  const answer = async (body: ArrayBuffer, contentType: string | undefined, projectSlug: string | undefined): Promise<Buffer> => {
    if ((contentType ?? '').split(';')[0]?.trim().toLowerCase() !== PKIXCMP) throw new ServiceError('UNSUPPORTED_MEDIA_TYPE', `send the PKIMessage as ${PKIXCMP}`);
    if (body.byteLength > MAX_CMP_MESSAGE_BYTES) throw bodyTooLarge(MAX_CMP_MESSAGE_BYTES);
    return (await answerCmp(deps, Buffer.from(body), projectSlug)).der;
  };
  app.openapi(
    createRoute({ method: 'post', path: '/.well-known/cmp', tags: ['pki'], summary: 'CMP (RFC 9483): the project is the enrollment token’s', responses: { ...CMP_RESPONSE, ...problemResponses(413, 415) } }),
    async (c) => c.body(new Uint8Array(await answer(await c.req.arrayBuffer(), c.req.header('content-type'), undefined)), 200, { 'content-type': PKIXCMP, 'cache-control': 'no-store' }),
  );
  app.openapi(
    createRoute({
      method: 'post',
      path: '/.well-known/cmp/p/{projectId}',
      tags: ['pki'],
      summary: 'CMP (RFC 9483) for one project: a token of another project is refused',
      request: { params: z.object({ projectId: z.string().regex(/^[a-z0-9][a-z0-9-]{1,62}$/) }) },
      responses: { ...CMP_RESPONSE, ...problemResponses(400, 413, 415) },
    }),
    async (c) => c.body(new Uint8Array(await answer(await c.req.arrayBuffer(), c.req.header('content-type'), c.req.valid('param').projectId)), 200, { 'content-type': PKIXCMP, 'cache-control': 'no-store' }),
  );
}
