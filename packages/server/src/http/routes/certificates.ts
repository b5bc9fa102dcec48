import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { encodePem } from '@fleetpki/pki';
import { deleteCaCertificate, getCaCertificate, listCaCertificates, setCaCertificateEnabled, uploadCaCertificates } from '../../domain/authorities/index.js';
import { projectForPrincipal } from '../../domain/management/index.js';
import { crlsInForce, setCaCrlUrl } from '../../domain/revocation/index.js';
import type { PkiDeps } from '../../domain/issuance/index.js';
import { ServiceError } from '../../service-error.js';
import type { AppEnv } from '../app-env.js';
import { problemDocument } from '../../edge/problem.js';
import { PROBLEM_STATUS } from '../../edge/problem-status.js';
import { jsonBody, jsonResponse } from '../route-helpers.js';
import {
  BundleUploadResult,
  CaCertificate,
  CaCertificateCreated,
  CaCertificatePage,
  CaCertificateUpdate,
  CaCertificateUpload,
  PageQuery,
  problemResponses,
  ProjectIdParam,
  SECURITY,
  pathParam,
} from '../schemas.js';

const CertificateParams = ProjectIdParam.extend({
  certificateId: pathParam('certificateId'),
});

export function certificateRoutes(deps: PkiDeps, app: OpenAPIHono<AppEnv>): void {
  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/projects/{projectId}/certificates',
      tags: ['certificates'],
      summary: 'Upload CA certificates (one, or a bundle reported per certificate)',
      description:
        'A single certificate answers 201 or a problem. A bundle answers 207 with one result per certificate, each stored or refused on its own.',
      security: SECURITY,
      request: { params: ProjectIdParam, body: jsonBody(CaCertificateUpload) },
      responses: {
        201: jsonResponse(CaCertificateCreated, 'the stored CA certificate, with warnings such as CA_EXPIRES_SOON'),
        207: jsonResponse(BundleUploadResult, 'a bundle of which at least one certificate was stored: the result for each (when none was, the first refusal’s problem, with `results`)'),
        ...problemResponses(400, 401, 403, 404, 409, 413, 422),
      },
    }),
    async (c) => {
      const project = await projectForPrincipal(deps, c.var.principal, c.req.valid('param').projectId);
      const upload = c.req.valid('json');
      const results = await uploadCaCertificates(deps, c.var.principal, project, upload);
      const [only] = results;
      if (results.length === 1 && only) {
        if (only.status === 'refused') throw only.error;
        return c.json({ ...only.certificate, warnings: [...only.warnings] }, 201);
      }
      const reported = results.map((r) =>
          r.status === 'created'
            ? { index: r.index, status: 201, certificate: r.certificate, warnings: [...r.warnings] }
            : { index: r.index, status: PROBLEM_STATUS[r.error.code], problem: problemDocument(r.error) as z.infer<typeof BundleUploadResult>['results'][number]['problem'] },
      );
      const created = results.filter((r) => r.status === 'created').length;
      // Nothing stored: a failure status (the first refusal's), so a client that reads only
      // the status does not take the upload for a success; every result is still listed.
      const firstRefusal = results.find((r) => r.status === 'refused');
      if (created === 0 && firstRefusal?.status === 'refused') {
        throw new ServiceError(firstRefusal.error.code, `no certificate of the bundle was stored; the first refusal: ${firstRefusal.error.message}`, {
          ...firstRefusal.error.context,
          results: reported,
        });
      }
      return c.json({ results: reported, created, refused: results.length - created }, 207);
    },
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/projects/{projectId}/certificates',
      tags: ['certificates'],
      summary: 'List a project’s CA certificates, each with the CRL in force for it',
      security: SECURITY,
      request: { params: ProjectIdParam, query: PageQuery },
      responses: { 200: jsonResponse(CaCertificatePage, 'a page of CA certificates'), ...problemResponses(400, 401, 403, 404) },
    }),
    async (c) => {
      const project = await projectForPrincipal(deps, c.var.principal, c.req.valid('param').projectId);
      const page = await listCaCertificates(deps, project, c.req.valid('query'));
      const crls = await crlsInForce(deps, project, page.list.map((ca) => ca.id));
      return c.json({ ...page, list: page.list.map((ca) => ({ ...ca, crl: crls.get(ca.id) ?? null })) }, 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/projects/{projectId}/certificates/{certificateId}',
      tags: ['certificates'],
      summary: 'Get a CA certificate (JSON, or the certificate itself with ?format=pem|der)',
      security: SECURITY,
      request: { params: CertificateParams, query: z.object({ format: z.enum(['json', 'pem', 'der']).default('json') }) },
      responses: {
        200: {
          description: 'the CA certificate',
          content: {
            'application/json': { schema: CaCertificate },
            'application/x-pem-file': { schema: z.string() },
            'application/pkix-cert': { schema: z.string().openapi({ format: 'binary' }) },
          },
        },
        ...problemResponses(401, 403, 404),
      },
    }),
    async (c) => {
      const { projectId, certificateId } = c.req.valid('param');
      const project = await projectForPrincipal(deps, c.var.principal, projectId);
      const { certificate, der } = await getCaCertificate(deps, project, certificateId);
      const { format } = c.req.valid('query');
      if (format === 'pem') return c.body(encodePem('CERTIFICATE', der), 200, { 'content-type': 'application/x-pem-file' });
      if (format === 'der') return c.body(new Uint8Array(der), 200, { 'content-type': 'application/pkix-cert' });
      return c.json(certificate, 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'patch',
      path: '/v1/projects/{projectId}/certificates/{certificateId}',
      tags: ['certificates'],
      summary: 'Enable or disable a CA certificate, or set where its CRL is fetched from (crlUrl, admin key)',
      security: SECURITY,
      request: { params: CertificateParams, body: jsonBody(CaCertificateUpdate) },
      responses: { 200: jsonResponse(CaCertificate, 'the updated CA certificate'), ...problemResponses(400, 401, 403, 404, 422) },
    }),
    async (c) => {
      const { projectId, certificateId } = c.req.valid('param');
      const project = await projectForPrincipal(deps, c.var.principal, projectId);
      const { enabled, crlUrl } = c.req.valid('json');
      if (crlUrl !== undefined) await setCaCrlUrl(deps, c.var.principal, project, certificateId, crlUrl, deps.allowPrivateCrlUrls);
      if (enabled !== undefined) return c.json(await setCaCertificateEnabled(deps, c.var.principal, project, certificateId, enabled), 200);
      return c.json((await getCaCertificate(deps, project, certificateId)).certificate, 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'delete',
      path: '/v1/projects/{projectId}/certificates/{certificateId}',
      tags: ['certificates'],
      summary: 'Delete a CA certificate',
      security: SECURITY,
      request: { params: CertificateParams },
      responses: { 204: { description: 'deleted' }, ...problemResponses(401, 403, 404) },
    }),
    async (c) => {
      const { projectId, certificateId } = c.req.valid('param');
      const project = await projectForPrincipal(deps, c.var.principal, projectId);
      await deleteCaCertificate(deps, c.var.principal, project, certificateId);
      return c.body(null, 204);
    },
  );
}
