/** The public management API (docs/operating.md, "Management API"), the only thing the console talks to. */

export interface Page<T> {
  readonly list: readonly T[];
  readonly page: number;
  readonly perPage: number;
  readonly total: number;
}

export interface Project {
  readonly id: string;
  readonly slug: string;
  readonly name: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface CertificateContent {
  readonly subject: string;
  readonly issuer: string;
  readonly serialNumber: string;
  readonly notBefore: string;
  readonly notAfter: string;
  readonly fingerprintSha256: string;
  readonly publicKeyAlgorithm: string;
  readonly signatureAlgorithm: string;
  readonly keyUsages: readonly string[];
  readonly isCa: boolean;
  readonly pathLen: number | null;
  readonly subjectKeyIdentifier: string | null;
  readonly authorityKeyIdentifier: string | null;
}

export type CertType = 'root' | 'intermediate';

export interface CaCertificate {
  readonly id: string;
  readonly certType: CertType;
  readonly enabled: boolean;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly certificateContent: CertificateContent;
}

export interface UploadWarning {
  readonly code: string;
  readonly message: string;
  readonly daysLeft?: number;
}

export interface CaCertificateCreated extends CaCertificate {
  readonly warnings: readonly UploadWarning[];
}

export interface BundleResult {
  readonly index: number;
  readonly status: number;
  readonly certificate?: CaCertificate;
  readonly warnings?: readonly UploadWarning[];
  readonly problem?: Problem;
}

export interface BundleUploadResult {
  readonly results: readonly BundleResult[];
  readonly created: number;
  readonly refused: number;
}

/** The template of every certificate a managed CA issues. */
export interface IssuanceProfile {
  readonly defaultDays: number;
  readonly maxDays: number;
  readonly keyTypes: readonly string[];
}

export type ManagedCaMode = 'generate' | 'csr' | 'cfssl';

/** An issuing CA the server runs for a project (integrated PKI); its key never leaves the server. */
export interface ManagedCa {
  readonly id: string;
  readonly status: 'pending' | 'active';
  readonly mode: ManagedCaMode;
  readonly keyStorage: 'sealed' | 'pkcs11' | 'remote';
  readonly certificate: string | null;
  readonly chain: string | null;
  readonly csr: string | null;
  readonly certificateContent: CertificateContent | null;
  readonly caCertificateId: string | null;
  readonly profile: IssuanceProfile;
  readonly createdAt: string;
  readonly activatedAt: string | null;
}

export interface ManagedCaCreate {
  readonly mode: ManagedCaMode;
  readonly profile?: Partial<Pick<IssuanceProfile, 'defaultDays' | 'maxDays'>>;
  readonly cfssl?: { readonly url: string; readonly profile?: string };
}

export type Provisioning = 'pre-provisioned' | 'created' | 'associated' | 'existing';

export interface Device {
  readonly id: string;
  readonly name: string;
  readonly certificateId: string | null;
  readonly enabled: boolean;
  readonly provisioning: Provisioning;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly lastSeenAt: string | null;
}

export interface AuditEvent {
  readonly id: number;
  readonly projectKey: string | null;
  readonly actor: string;
  readonly action: string;
  readonly targetType: string;
  readonly targetId: string;
  readonly details: Readonly<Record<string, unknown>>;
  readonly createdAt: string;
}

/** RFC 9457 problem document with the server's stable code and the facts of the failure. */
export interface Problem {
  readonly status: number;
  readonly code: string;
  readonly detail: string;
  readonly title?: string;
  readonly [fact: string]: unknown;
}

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

export type Query = Readonly<Record<string, string | number | boolean | undefined>>;

function withQuery(path: string, query: Query | undefined): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value !== undefined && value !== '') params.set(name, String(value));
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

const enc = encodeURIComponent;

export class Api {
  constructor(
    private readonly apiKey: string,
    /** Called when the server no longer accepts the key (revoked while signed in). */
    private readonly onUnauthorized: (problem: Problem) => void = () => {},
  ) {}

  async request<T>(method: string, path: string, body?: unknown, query?: Query): Promise<T> {
    const response = await send(
      withQuery(path, query),
      {
        method,
        headers: { 'x-api-key': this.apiKey, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      },
      this.onUnauthorized,
    );
    if (response.status === 204) return undefined as T;
    return parseJson(await response.text()) as T;
  }

  // Projects
  listProjects(page = 0, perPage = 100): Promise<Page<Project>> {
    return this.request('GET', '/v1/projects', undefined, { page, perPage });
  }
  getProject(slug: string): Promise<Project> {
    return this.request('GET', `/v1/projects/${enc(slug)}`);
  }
  createProject(name: string, slug: string): Promise<Project> {
    return this.request('POST', '/v1/projects', { name, slug });
  }
  deleteProject(slug: string): Promise<void> {
    return this.request('DELETE', `/v1/projects/${enc(slug)}`);
  }

  // CA certificates
  listCertificates(slug: string, page = 0, perPage = 100): Promise<Page<CaCertificate>> {
    return this.request('GET', `/v1/projects/${enc(slug)}/certificates`, undefined, { page, perPage });
  }
  getCertificate(slug: string, id: string): Promise<CaCertificate> {
    return this.request('GET', `/v1/projects/${enc(slug)}/certificates/${enc(id)}`);
  }
  /** Answers one certificate (201) or, for a bundle, one result per certificate (207). */
  uploadCertificate(slug: string, certFileBase64: string, certType: CertType): Promise<CaCertificateCreated | BundleUploadResult> {
    return this.request('POST', `/v1/projects/${enc(slug)}/certificates`, { certFile: certFileBase64, certType });
  }
  setCertificateEnabled(slug: string, id: string, enabled: boolean): Promise<CaCertificate> {
    return this.request('PATCH', `/v1/projects/${enc(slug)}/certificates/${enc(id)}`, { enabled });
  }
  deleteCertificate(slug: string, id: string): Promise<void> {
    return this.request('DELETE', `/v1/projects/${enc(slug)}/certificates/${enc(id)}`);
  }

  // Integrated PKI: the project's managed issuing CAs
  listManagedCas(slug: string): Promise<Page<ManagedCa>> {
    return this.request('GET', `/v1/projects/${enc(slug)}/pki/cas`, undefined, { perPage: 100 });
  }
  createManagedCa(slug: string, input: ManagedCaCreate): Promise<ManagedCa> {
    return this.request('POST', `/v1/projects/${enc(slug)}/pki/cas`, input);
  }
  /** Completes a csr-mode CA with the certificate its owner signed offline (base64 of PEM or DER). */
  completeManagedCa(slug: string, caId: string, certFileBase64: string): Promise<ManagedCa> {
    return this.request('PUT', `/v1/projects/${enc(slug)}/pki/cas/${enc(caId)}/certificate`, { certFile: certFileBase64 });
  }

  // Devices
  listDevices(slug: string, query: Query = {}): Promise<Page<Device>> {
    return this.request('GET', `/v1/projects/${enc(slug)}/devices`, undefined, { perPage: 100, ...query });
  }
  getDevice(slug: string, id: string): Promise<Device> {
    return this.request('GET', `/v1/projects/${enc(slug)}/devices/${enc(id)}`);
  }
  createDevice(slug: string, name: string): Promise<Device> {
    return this.request('POST', `/v1/projects/${enc(slug)}/devices`, { name });
  }
  setDeviceEnabled(slug: string, id: string, enabled: boolean): Promise<Device> {
    return this.request('PATCH', `/v1/projects/${enc(slug)}/devices/${enc(id)}`, { enabled });
  }
  deleteDevice(slug: string, id: string): Promise<void> {
    return this.request('DELETE', `/v1/projects/${enc(slug)}/devices/${enc(id)}`);
  }

  // Audit
  listAudit(slug: string | null, query: Query = {}): Promise<Page<AuditEvent>> {
    return this.request('GET', slug === null ? '/v1/audit' : `/v1/projects/${enc(slug)}/audit`, undefined, query);
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
