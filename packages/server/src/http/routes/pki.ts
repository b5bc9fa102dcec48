import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { issueThroughApi } from '../../domain/issuance/index.js';
import { createEnrollmentTokens, DEFAULT_TOKEN_VALID_HOURS, MAX_TOKEN_VALID_HOURS, MAX_TOKENS_PER_BATCH } from '../../domain/issuance/index.js';
import { DEVICE_KEY_TYPES } from '../../domain/issuance/index.js';
import { completeManagedCa, createManagedCa, getManagedCa, listManagedCas } from '../../domain/authorities/index.js';
import type { PkiDeps } from '../../domain/issuance/index.js';
import { projectForPrincipal } from '../../domain/management/index.js';
import { MAX_VALIDITY_DAYS } from '@fleetpki/pki';
import type { AppEnv } from '../app-env.js';
import { jsonBody, jsonResponse } from '../route-helpers.js';
import { CertificateContent, pageOf, PageQuery, pathParam, problemResponses, ProjectIdParam, safeText, SECURITY } from '../schemas.js';

const Days = z.number().int().min(1).max(MAX_VALIDITY_DAYS);

const IssuanceProfileSchema = z
  .object({ defaultDays: Days, maxDays: Days, keyTypes: z.array(z.enum(DEVICE_KEY_TYPES)).min(1).max(DEVICE_KEY_TYPES.length).readonly() })
  .openapi('IssuanceProfile', { description: 'the template of every certificate the CA issues' });

const ManagedCa = z
  .object({
    id: z.string(),
    status: z.enum(['pending', 'active']),
    mode: z.enum(['generate', 'csr', 'cfssl']),
    keyStorage: z.enum(['sealed', 'pkcs11', 'remote']),
    certificate: z.string().nullable().openapi({ description: 'the issuing CA certificate, PEM' }),
    chain: z.string().nullable().openapi({ description: 'certificates above it (the generated root), PEM' }),
    csr: z.string().nullable().openapi({ description: 'while pending: the CSR to sign offline, PEM' }),
    certificateContent: CertificateContent.nullable(),
    caCertificateId: z.string().nullable().openapi({ description: 'the project CA certificate (trust anchor) it is registered as' }),
    profile: IssuanceProfileSchema,
    createdAt: z.string(),
    activatedAt: z.string().nullable(),
  })
  .openapi('ManagedCa', { description: 'an issuing CA the platform runs for the project; its key never leaves the server' });

const ManagedCaCreate = z
  .object({
    mode: z.enum(['generate', 'csr', 'cfssl']).openapi({ description: 'generate: root + issuing CA; csr: issuing key and a CSR to sign offline; cfssl: a remote cfssl signer' }),
    keyStorage: z.enum(['sealed', 'pkcs11']).optional().openapi({ description: 'sealed (default): AES-256-GCM under the master key; pkcs11: inside the server’s PKCS#11 token' }),
    profile: IssuanceProfileSchema.partial().strict().optional(),
    cfssl: z.object({ url: safeText(500).min(1), profile: safeText(100).min(1).optional() }).strict().optional(),
  })
  .strict()
  .openapi('ManagedCaCreate');

const ManagedCaPage = pageOf(ManagedCa, 'ManagedCaPage');
const CertFileBody = z.object({ certFile: z.string().min(1).max(1_400_000) }).strict().openapi('ManagedCaCertificate');

export const IssueRequest = z
  .object({ csr: z.string().min(1).max(64 * 1024).openapi({ description: 'base64 of a PEM or DER PKCS#10 request' }), days: Days.optional() })
  .strict()
  .openapi('IssueRequest');
const IssuedCertificate = z
  .object({
    certificate: z.string().openapi({ description: 'the device certificate, PEM' }),
    certificateId: z.string(),
    serialNumber: z.string(),
    fingerprintSha256: z.string(),
    notAfter: z.string(),
    caId: z.string(),
    chain: z.string().openapi({ description: 'the issuing CA certificate, PEM' }),
  })
  .openapi('IssuedCertificate');

const TokensCreate = z
  .object({
    deviceId: safeText(200).min(1).optional().openapi({ description: 'a token for this device: its certificate gets the device’s identity' }),
    count: z.number().int().min(1).max(MAX_TOKENS_PER_BATCH).optional().openapi({ description: 'a batch of tokens for new devices (default 1)' }),
    validHours: z.number().int().min(1).max(MAX_TOKEN_VALID_HOURS).optional().openapi({ description: `default ${DEFAULT_TOKEN_VALID_HOURS}` }),
  })
  .strict()
  .openapi('EnrollmentTokensCreate');
const TokenBatch = z
  .object({
    batchId: z.string(),
    expiresAt: z.string(),
    tokens: z.array(z.object({ id: z.string(), token: z.string(), deviceId: z.string().nullable(), certificateId: z.string().nullable() })).readonly(),
  })
  .openapi('EnrollmentTokenBatch', { description: 'one-time EST tokens; each secret is shown only here' });

const CaParams = ProjectIdParam.extend({ caId: pathParam('caId') });

/** Integrated PKI (DESIGN §5): managed CAs, issuance, enrollment tokens. */
export const ISSUE_PATH = /^\/v1\/projects\/([^/]{1,200})\/pki\/issue$/;

export function pkiRoutes(deps: PkiDeps, app: OpenAPIHono<AppEnv>): void {
  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/projects/{projectId}/pki/cas',
      tags: ['pki'],
      summary: 'Create a managed issuing CA (generate, csr or cfssl)',
      security: SECURITY,
      request: { params: ProjectIdParam, body: jsonBody(ManagedCaCreate) },
      responses: { 201: jsonResponse(ManagedCa, 'the managed CA (pending for mode csr)'), ...problemResponses(400, 401, 403, 404, 409, 422, 502) },
    }),
    async (c) => {
      const project = await projectForPrincipal(deps, c.var.principal, c.req.valid('param').projectId);
      return c.json(await createManagedCa(deps, c.var.principal, project, c.req.valid('json')), 201);
    },
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/projects/{projectId}/pki/cas',
      tags: ['pki'],
      summary: 'List the project’s managed CAs',
      security: SECURITY,
      request: { params: ProjectIdParam, query: PageQuery },
      responses: { 200: jsonResponse(ManagedCaPage, 'a page of managed CAs'), ...problemResponses(400, 401, 403, 404) },
    }),
    async (c) => {
      const project = await projectForPrincipal(deps, c.var.principal, c.req.valid('param').projectId);
      return c.json(await listManagedCas(deps, project, c.req.valid('query')), 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/projects/{projectId}/pki/cas/{caId}',
      tags: ['pki'],
      summary: 'Get a managed CA',
      security: SECURITY,
      request: { params: CaParams },
      responses: { 200: jsonResponse(ManagedCa, 'the managed CA'), ...problemResponses(401, 403, 404) },
    }),
    async (c) => {
      const { projectId, caId } = c.req.valid('param');
      const project = await projectForPrincipal(deps, c.var.principal, projectId);
      return c.json(await getManagedCa(deps, project, caId), 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'put',
      path: '/v1/projects/{projectId}/pki/cas/{caId}/certificate',
      tags: ['pki'],
      summary: 'Complete a csr-mode CA with the certificate signed offline (certFile: base64 PEM/DER, issuing CA first)',
      security: SECURITY,
      request: { params: CaParams, body: jsonBody(CertFileBody) },
      responses: { 200: jsonResponse(ManagedCa, 'the now active CA'), ...problemResponses(400, 401, 403, 404, 409, 422) },
    }),
    async (c) => {
      const { projectId, caId } = c.req.valid('param');
      const project = await projectForPrincipal(deps, c.var.principal, projectId);
      return c.json(await completeManagedCa(deps, c.var.principal, project, caId, c.req.valid('json').certFile), 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/projects/{projectId}/pki/issue',
      tags: ['pki'],
      summary: 'Issue a device certificate from a CSR (O = the project, CN = its certificate ID)',
      security: SECURITY,
      request: { params: ProjectIdParam, body: jsonBody(IssueRequest) },
      responses: { 201: jsonResponse(IssuedCertificate, 'the certificate'), ...problemResponses(400, 401, 403, 404, 409, 422, 502, 503) },
    }),
    // Served by http/issue-fast-path.ts in `fleetpki serve`; this handler answers the same for
    // every other way the app is mounted, and its declaration is the OpenAPI document's.
    async (c) => c.json(await issueThroughApi(deps, c.var.principal, c.req.valid('param').projectId, c.req.valid('json')), 201),
  );
  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/projects/{projectId}/pki/enrollment-tokens',
      tags: ['pki'],
      summary: 'Create one-time EST enrollment tokens (for one device, or a batch for new devices)',
      security: SECURITY,
      request: { params: ProjectIdParam, body: jsonBody(TokensCreate) },
      responses: { 201: jsonResponse(TokenBatch, 'the tokens, shown once'), ...problemResponses(400, 401, 403, 404) },
    }),
    async (c) => {
      const project = await projectForPrincipal(deps, c.var.principal, c.req.valid('param').projectId);
      return c.json(await createEnrollmentTokens(deps, c.var.principal, project, c.req.valid('json')), 201);
    },
  );
}
