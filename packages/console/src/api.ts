/** The public management API (docs/operating.md, "Management API"), the only thing the console talks to. */

import type { Answer, ApiPath, CallRequest, MethodOf, QueryParams } from './api-operations';
import type { components } from './openapi.generated';

// The shapes are the schemas of the server's OpenAPI document (openapi.generated.ts, `npm run
// api:types`), named here for the pages: nothing is restated by hand.
type Schemas = components['schemas'];

export type Project = Schemas['Project'];
export type CertificateContent = Schemas['CertificateContent'];
export type CaCertificate = Schemas['CaCertificate'];
/** A CA certificate as the project's list shows it, with the CRL in force (or null). */
export type ListedCaCertificate = Schemas['ListedCaCertificate'];
export type CaCrlUploadResult = Schemas['CaCrlUploadResult'];
export type CertType = CaCertificate['certType'];
export type UploadWarning = Schemas['UploadWarning'];
export type CaCertificateCreated = Schemas['CaCertificateCreated'];
export type BundleResult = Schemas['BundleResult'];
export type BundleUploadResult = Schemas['BundleUploadResult'];
/** The template of every certificate a managed CA issues. */
export type IssuanceProfile = Schemas['IssuanceProfile'];
/** An issuing CA the server runs for a project (integrated PKI); its key never leaves the server. */
export type ManagedCa = Schemas['ManagedCa'];
export type ManagedCaMode = ManagedCa['mode'];
export type ManagedCaCreate = Schemas['ManagedCaCreate'];
export type Device = Schemas['Device'];
export type Provisioning = Device['provisioning'];
export type AuditEvent = Schemas['AuditEvent'];
export type DeviceCertificate = Schemas['DeviceCertificate'];
export type RevocationReason = Schemas['Revocation']['reason'];
export type CaBlastRadius = Schemas['CaBlastRadius'];
export type Webhook = Schemas['Webhook'];
export type WebhookEventType = Webhook['events'][number];
export type CreatedWebhook = Schemas['CreatedWebhook'];
export type WebhookDelivery = Schemas['WebhookDelivery'];

/**
 * RFC 9457 problem document with the server's stable code and the facts of the failure: the
 * server's (Schemas['Problem']), or one the console makes (SERVER_UNREACHABLE, HTTP_502), which
 * carries only a status, a code and a detail.
 */
export type Problem = Pick<Schemas['Problem'], 'status' | 'code' | 'detail'> & Partial<Schemas['Problem']>;

export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail);
    this.name = 'ApiError';
  }
}

/**
 * fetch, with every failure as an ApiError: the server unreachable (server down, network gone) as
 * SERVER_UNREACHABLE, any other answer than 2xx as its problem document.
 */
async function send(url: string, init: RequestInit, onUnauthorized: (problem: Problem) => void = () => {}): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    throw new ApiError({ status: 0, code: 'SERVER_UNREACHABLE', detail: error instanceof Error ? error.message : String(error) });
  }
  if (response.ok) return response;
  const text = await response.text();
  const parsed = parseJson(text);
  const problem =
    parsed && typeof parsed === 'object' && 'code' in parsed
      ? (parsed as Problem)
      : { status: response.status, code: `HTTP_${response.status}`, detail: text.slice(0, 300) || response.statusText };
  if (response.status === 401) onUnauthorized(problem);
  throw new ApiError(problem);
}

function parseJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}

/** A query as the pages give it: an empty or absent value is left out. */
type QueryValues = Readonly<Record<string, string | number | boolean | null | undefined>>;

function withQuery(path: string, query: QueryValues | undefined): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value !== undefined && value !== null && value !== '') params.set(name, String(value));
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

/** A documented path with its `{name}` parameters filled, each value one encoded segment. */
function fillPath(template: string, params: Readonly<Record<string, string>> = {}): string {
  return template.replace(/\{([^}]+)\}/g, (_, name: string) => encodeURIComponent(params[name] ?? ''));
}

export type DeviceQuery = QueryParams<'/v1/projects/{projectId}/devices', 'get'>;
export type DeviceCertificateQuery = QueryParams<'/v1/projects/{projectId}/device-certificates', 'get'>;
export type AuditQuery = QueryParams<'/v1/audit', 'get'>;

export class Api {
  constructor(
    private readonly apiKey: string,
    /** Called when the server no longer accepts the key (revoked while signed in). */
    private readonly onUnauthorized: (problem: Problem) => void = () => {},
  ) {}

  /**
   * One operation of the OpenAPI document, by its documented path and method: the parameters,
   * the body and the answer are the document's types. A 204 answers undefined.
   */
  async call<P extends ApiPath, M extends MethodOf<P>>(method: M, template: P, request: CallRequest<P, M>): Promise<Answer<P, M>> {
    const path = withQuery(fillPath(template, request.path as Readonly<Record<string, string>> | undefined), request.query as QueryValues | undefined);
    const body: unknown = request.body;
    const response = await send(
      path,
      {
        method: method.toUpperCase(),
        headers: { 'x-api-key': this.apiKey, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      },
      this.onUnauthorized,
    );
    if (response.status === 204) return undefined as Answer<P, M>;
    return parseJson(await response.text()) as Answer<P, M>;
  }

  // Projects
  listProjects(page = 0, perPage = 100) {
    return this.call('get', '/v1/projects', { query: { page, perPage } });
  }
  getProject(slug: string) {
    return this.call('get', '/v1/projects/{projectId}', { path: { projectId: slug } });
  }
  createProject(name: string, slug: string) {
    return this.call('post', '/v1/projects', { body: { name, slug } });
  }
  deleteProject(slug: string) {
    return this.call('delete', '/v1/projects/{projectId}', { path: { projectId: slug } });
  }

  // CA certificates
  listCertificates(slug: string, cursor?: string, perPage = 100) {
    return this.call('get', '/v1/projects/{projectId}/certificates', { path: { projectId: slug }, query: { cursor, perPage } });
  }
  getCertificate(slug: string, id: string) {
    return this.call('get', '/v1/projects/{projectId}/certificates/{certificateId}', { path: { projectId: slug, certificateId: id } });
  }
  /** Answers one certificate (201) or, for a bundle, one result per certificate (207). */
  uploadCertificate(slug: string, certFileBase64: string, certType: CertType) {
    return this.call('post', '/v1/projects/{projectId}/certificates', { path: { projectId: slug }, body: { certFile: certFileBase64, certType } });
  }
  setCertificateEnabled(slug: string, id: string, enabled: boolean) {
    return this.call('patch', '/v1/projects/{projectId}/certificates/{certificateId}', { path: { projectId: slug, certificateId: id }, body: { enabled } });
  }
  deleteCertificate(slug: string, id: string) {
    return this.call('delete', '/v1/projects/{projectId}/certificates/{certificateId}', { path: { projectId: slug, certificateId: id } });
  }
  /** Puts a CRL in force for a CA certificate; with dryRun, checks it and answers whom it would cut, storing nothing. */
  uploadCaCrl(slug: string, caId: string, crlFileBase64: string, dryRun: boolean) {
    return this.call('put', '/v1/projects/{projectId}/certificates/{caId}/crl', { path: { projectId: slug, caId }, query: { dryRun: dryRun ? 'true' : 'false' }, body: { crlFile: crlFileBase64 } });
  }

  // Integrated PKI: the project's managed issuing CAs
  listManagedCas(slug: string) {
    return this.call('get', '/v1/projects/{projectId}/pki/cas', { path: { projectId: slug }, query: { perPage: 100 } });
  }
  createManagedCa(slug: string, input: ManagedCaCreate) {
    return this.call('post', '/v1/projects/{projectId}/pki/cas', { path: { projectId: slug }, body: input });
  }
  /** Completes a csr-mode CA with the certificate its owner signed offline (base64 of PEM or DER). */
  completeManagedCa(slug: string, caId: string, certFileBase64: string) {
    return this.call('put', '/v1/projects/{projectId}/pki/cas/{caId}/certificate', { path: { projectId: slug, caId }, body: { certFile: certFileBase64 } });
  }

  // Devices
  listDevices(slug: string, query: DeviceQuery = {}) {
    return this.call('get', '/v1/projects/{projectId}/devices', { path: { projectId: slug }, query: { perPage: 100, ...query } });
  }
  getDevice(slug: string, id: string) {
    return this.call('get', '/v1/projects/{projectId}/devices/{deviceId}', { path: { projectId: slug, deviceId: id } });
  }
  createDevice(slug: string, name: string) {
    return this.call('post', '/v1/projects/{projectId}/devices', { path: { projectId: slug }, body: { name } });
  }
  setDeviceEnabled(slug: string, id: string, enabled: boolean) {
    return this.call('patch', '/v1/projects/{projectId}/devices/{deviceId}', { path: { projectId: slug, deviceId: id }, body: { enabled } });
  }
  deleteDevice(slug: string, id: string) {
    return this.call('delete', '/v1/projects/{projectId}/devices/{deviceId}', { path: { projectId: slug, deviceId: id } });
  }

  listWebhooks(slug: string) {
    return this.call('get', '/v1/projects/{projectId}/webhooks', { path: { projectId: slug }, query: { perPage: 100 } });
  }

  createWebhook(slug: string, url: string, events: readonly WebhookEventType[]) {
    return this.call('post', '/v1/projects/{projectId}/webhooks', { path: { projectId: slug }, body: { url, events: [...events] } });
  }

  deleteWebhook(slug: string, id: string) {
    return this.call('delete', '/v1/projects/{projectId}/webhooks/{webhookId}', { path: { projectId: slug, webhookId: id } });
  }

  sendWebhookTest(slug: string, id: string) {
    return this.call('post', '/v1/projects/{projectId}/webhooks/{webhookId}/test', { path: { projectId: slug, webhookId: id } });
  }

  listWebhookDeliveries(slug: string, id: string, cursor?: string) {
    return this.call('get', '/v1/projects/{projectId}/webhooks/{webhookId}/deliveries', { path: { projectId: slug, webhookId: id }, query: { perPage: 20, cursor } });
  }

  // Revocation and the certificate inventory (DESIGN §8)
  listDeviceCertificates(slug: string, deviceId: string) {
    return this.call('get', '/v1/projects/{projectId}/devices/{deviceId}/certificates', { path: { projectId: slug, deviceId }, query: { perPage: 100 } });
  }
  /** The project's device certificates (the inventory), filtered: soonest to expire first. */
  listProjectDeviceCertificates(slug: string, query: DeviceCertificateQuery) {
    return this.call('get', '/v1/projects/{projectId}/device-certificates', { path: { projectId: slug }, query });
  }
  revokeCertificates(slug: string, fingerprints: readonly string[], reason: RevocationReason) {
    return this.call('post', '/v1/projects/{projectId}/revocations', { path: { projectId: slug }, body: { certificates: fingerprints.map((fingerprintSha256) => ({ fingerprintSha256 })), reason } });
  }
  /** The devices a CA certificate's disable or delete would cut. */
  caBlastRadius(slug: string, caId: string) {
    return this.call('get', '/v1/projects/{projectId}/certificates/{caId}/devices', { path: { projectId: slug, caId }, query: { perPage: 5 } });
  }

  // Audit
  listAudit(slug: string | null, query: AuditQuery = {}) {
    return slug === null ? this.call('get', '/v1/audit', { query }) : this.call('get', '/v1/projects/{projectId}/audit', { path: { projectId: slug }, query });
  }
}

/** The platform root devices pin, as PEM; public, so no key is sent. */
export async function fetchServerCaPem(): Promise<string> {
  return (await send('/v1/server-ca', {})).text();
}

/** What a key may do: the admin key spans projects, a project key sees one. */
export type KeyKind = 'admin' | 'project';

/** Checks a key and tells its kind: the platform audit log answers only the admin key. */
export async function identifyKey(apiKey: string): Promise<KeyKind> {
  const api = new Api(apiKey);
  await api.listProjects(0, 1);
  try {
    await api.listAudit(null, { perPage: 1 });
    return 'admin';
  } catch (error) {
    if (error instanceof ApiError && error.problem.code === 'ADMIN_KEY_REQUIRED') return 'project';
    throw error;
  }
}

/** base64 of a file's bytes, as the upload's `certFile` wants (PEM or DER alike). */
export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  const CHUNK = 0x8000;
  for (let i = 0; i < bytes.length; i += CHUNK) binary += String.fromCharCode(...bytes.subarray(i, i + CHUNK));
  return btoa(binary);
}
