import { ApiClientError, ApiProblemError, problemFromBody } from './api-error.js';
import type { Answer, ApiPath, CallRequest, ListItem, ListPath, MethodOf, PathParams, QueryParams } from './api-operations.js';
import { CliError } from './cli-error.js';
import { DEFAULT_HTTP_PORT } from './serve-defaults.js';
import { printableLine } from './terminal-text.js';

export const DEFAULT_SERVER_URL = `http://127.0.0.1:${DEFAULT_HTTP_PORT}`;
export const SERVER_ENV = 'FLEETPKI_SERVER';
export const API_KEY_ENV = 'FLEETPKI_API_KEY';

/** Every request, body included, finishes within this or fails as SERVER_TIMEOUT. */
export const REQUEST_TIMEOUT_MS = 30_000;
/** Bound on one answer read into memory: a page of 100 CA certificates is about 200 kB. */
export const MAX_RESPONSE_BYTES = 8 * 1024 * 1024;
/** `list` commands fetch pages of this size until the list is complete… */
export const LIST_PAGE_SIZE = 100;
/** …and never more than this many pages (a million items): a bound on time and memory. */
export const MAX_LIST_PAGES = 10_000;

const USER_AGENT = 'fleetpki-cli/0.1.0';

function fromEnv(name: string): string | undefined {
  const value = process.env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/** `--server`, else FLEETPKI_SERVER, else the local default; an http(s) URL, optionally with a path prefix. */
export function resolveServerUrl(flag: string | undefined): URL {
  const envValue = fromEnv(SERVER_ENV);
  const text = flag?.trim() ?? envValue ?? DEFAULT_SERVER_URL;
  const source = flag !== undefined ? '--server' : envValue !== undefined ? SERVER_ENV : 'the default server';
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new CliError('USAGE', `${source} must be a URL such as ${DEFAULT_SERVER_URL}, got "${printableLine(text, 200)}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CliError('USAGE', `${source} must be an http:// or https:// URL, got "${printableLine(text, 200)}"`);
  if (url.username !== '' || url.password !== '') throw new CliError('USAGE', `${source} must not carry credentials; give the API key with --api-key or ${API_KEY_ENV}`);
  if (url.search !== '' || url.hash !== '') throw new CliError('USAGE', `${source} must not have a query or fragment`);
  url.pathname = url.pathname.replace(/\/+$/, '');
  return url;
}

/** `--api-key`, else FLEETPKI_API_KEY; checked before any request is made. */
export function resolveApiKey(flag: string | undefined): string {
  const key = flag?.trim() || fromEnv(API_KEY_ENV);
  if (key === undefined) {
    throw new CliError('USAGE', `no API key: pass --api-key KEY or set ${API_KEY_ENV} (the admin key is in <data-dir>/admin-api-key)`);
  }
  // A header value cannot hold control characters; refuse here rather than let fetch fail later.
  if (!/^[\x21-\x7e]+$/.test(key)) throw new CliError('USAGE', 'the API key must be printable ASCII without spaces');
  return key;
}

/** One path segment from user input (a slug or an ID); URLs would resolve `.` and `..` away. */
export function pathSegment(value: string): string {
  if (value === '' || value === '.' || value === '..') throw new CliError('USAGE', `"${value}" is not a valid identifier`);
  return encodeURIComponent(value);
}

/** A documented path with its `{name}` parameters filled, each value encoded as one segment. */
export function fillPath(template: string, params: Readonly<Record<string, string>> = {}): string {
  return template.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined) throw new CliError('INTERNAL', `${template} needs the path parameter ${name}`);
    return pathSegment(value);
  });
}

/** null as undefined: the document declares some query numbers nullable, and a null names no value. */
export type QueryValue = string | number | boolean | null | undefined;

export interface ApiRequest {
  readonly method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly query?: Readonly<Record<string, QueryValue>>;
  /** Sent as JSON. */
  readonly body?: unknown;
  /** Send the API key (default); false for public endpoints such as /v1/server-ca. */
  readonly auth?: boolean;
  readonly accept?: string;
}

export interface ApiResponse {
  readonly status: number;
  readonly contentType: string;
  readonly body: Buffer;
}

/**
 * A small client of the management API (DESIGN §5) over Node's fetch. Every call is bounded
 * in time (REQUEST_TIMEOUT_MS) and in the bytes it reads (MAX_RESPONSE_BYTES). A problem
 * answer throws ApiProblemError with the server's code; anything else that goes wrong throws
 * ApiClientError (SERVER_UNREACHABLE, SERVER_TIMEOUT, SERVER_RESPONSE_INVALID).
 */
export class ApiClient {
  constructor(
    readonly baseUrl: URL,
    private readonly apiKey: string | undefined,
    private readonly timeoutMs: number = REQUEST_TIMEOUT_MS,
  ) {}

  url(path: string, query: Readonly<Record<string, QueryValue>> = {}): URL {
    const url = new URL(this.baseUrl.href);
    url.pathname = this.baseUrl.pathname.replace(/\/+$/, '') + path;
    for (const [name, value] of Object.entries(query)) if (value !== undefined && value !== null) url.searchParams.set(name, String(value));
    return url;
  }

  async send(path: string, request: ApiRequest = {}): Promise<ApiResponse> {
    const method = request.method ?? 'GET';
    const url = this.url(path, request.query);
    const headers: Record<string, string> = { accept: request.accept ?? 'application/json', 'user-agent': USER_AGENT };
    if (request.auth !== false) {
      if (this.apiKey === undefined) throw new CliError('INTERNAL', `${method} ${path} needs an API key but the client has none`);
      headers['x-api-key'] = this.apiKey;
    }
    let body: string | undefined;
    if (request.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(request.body);
    }
    const where = `${method} ${url.href}`;
    try {
      // No redirects: following one would send the API key to wherever it points.
      const response = await fetch(url, { method, headers, body, redirect: 'manual', signal: AbortSignal.timeout(this.timeoutMs) });
      const bytes = await readBounded(response, where);
      const contentType = response.headers.get('content-type') ?? '';
      if (response.status >= 200 && response.status < 300) return { status: response.status, contentType, body: bytes };
      throw refusal(response, contentType, bytes, where);
    } catch (error) {
      throw transportError(error, where, this.timeoutMs);
    }
  }

  /**
   * A request whose body and answer are streams (a device import): the body is sent as it is
   * read, and a 2xx answer is handed back unread, for its lines to be read as they come. No
   * overall timeout (a million rows take a while); a refusal is read and thrown as usual.
   */
  async stream(path: string, request: { readonly query?: Readonly<Record<string, QueryValue>>; readonly contentType: string; readonly contentLength: number; readonly body: ReadableStream<Uint8Array> }): Promise<Response> {
    const url = this.url(path, request.query);
    if (this.apiKey === undefined) throw new CliError('INTERNAL', `POST ${path} needs an API key but the client has none`);
    const headers = { accept: 'application/x-ndjson', 'user-agent': USER_AGENT, 'x-api-key': this.apiKey, 'content-type': request.contentType, 'content-length': String(request.contentLength) };
    const where = `POST ${url.href}`;
    try {
      const response = await fetch(url, { method: 'POST', headers, body: request.body, duplex: 'half', redirect: 'manual' } as RequestInit);
      if (response.status >= 200 && response.status < 300) return response;
      throw refusal(response, response.headers.get('content-type') ?? '', await readBounded(response, where), where);
    } catch (error) {
      throw transportError(error, where, this.timeoutMs);
    }
  }

  /** A JSON answer that must be an object. */
  async json<T>(path: string, request: ApiRequest = {}): Promise<{ status: number; body: T }> {
    const response = await this.send(path, request);
    return { status: response.status, body: this.parseObject<T>(response, `${request.method ?? 'GET'} ${this.url(path, request.query).href}`) };
  }

  /**
   * One operation of the OpenAPI document, by its documented path and method: the parameters,
   * the body and the answer are the document's types. A 204 answers undefined.
   */
  async call<P extends ApiPath, M extends MethodOf<P>>(method: M, template: P, request: CallRequest<P, M>): Promise<{ status: number; body: Answer<P, M> }> {
    const path = fillPath(template, request.path as Readonly<Record<string, string>> | undefined);
    const sent: ApiRequest = { method: method.toUpperCase() as Uppercase<M>, query: request.query, body: request.body };
    const response = await this.send(path, sent);
    if (response.status === 204) return { status: response.status, body: undefined as Answer<P, M> };
    return { status: response.status, body: this.parseObject<Answer<P, M>>(response, `${sent.method} ${this.url(path, sent.query).href}`) };
  }

  private parseObject<T>(response: ApiResponse, where: string): T {
    let parsed: unknown;
    try {
      parsed = JSON.parse(response.body.toString('utf8'));
    } catch {
      throw new ApiClientError('SERVER_RESPONSE_INVALID', `${where} answered HTTP ${response.status} with a body that is not JSON; is --server a fleetpki server?`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new ApiClientError('SERVER_RESPONSE_INVALID', `${where} answered JSON that is not an object`);
    }
    return parsed as T;
  }

  /** Every item of a list endpoint, page by page: by cursor (`nextCursor`), LIST_PAGE_SIZE at a time. */
  async listAll<P extends ListPath>(template: P, params: { readonly path?: PathParams<P, 'get'>; readonly query?: QueryParams<P, 'get'> } = {}): Promise<ListItem<P>[]> {
    const path = fillPath(template, params.path as Readonly<Record<string, string>> | undefined);
    const items: ListItem<P>[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < MAX_LIST_PAGES; page++) {
      const query = { ...(params.query as Record<string, unknown> | undefined), perPage: LIST_PAGE_SIZE, ...(cursor === undefined ? {} : { cursor }) };
      const { body } = await this.json<{ list?: unknown; total?: unknown; nextCursor?: unknown }>(path, { query });
      if (!Array.isArray(body.list) || !(typeof body.total === 'number' || body.total === null) || !(typeof body.nextCursor === 'string' || body.nextCursor === null)) {
        throw new ApiClientError('SERVER_RESPONSE_INVALID', `GET ${this.url(path).href} answered something other than a page ({list, page, perPage, total, nextCursor})`);
      }
      // A list too long to print is refused before its pages are read, when the server counted it.
      if (page === 0 && typeof body.total === 'number') checkListLength(body.total, path);
      items.push(...(body.list as ListItem<P>[]));
      if (body.nextCursor === null) return items;
      cursor = body.nextCursor;
    }
    throw listTooLong(items.length, path);
  }
}

function checkListLength(total: number, path: string): void {
  if (total > MAX_LIST_PAGES * LIST_PAGE_SIZE) throw listTooLong(total, path);
}

function listTooLong(count: number, path: string): ApiClientError {
  return new ApiClientError(
    'LIST_TOO_LONG',
    `${path} holds ${count} items or more; this command lists at most ${MAX_LIST_PAGES * LIST_PAGE_SIZE}: narrow it with filters, or page the API with ?cursor= (each page's nextCursor)`,
  );
}

async function readBounded(response: Response, where: string): Promise<Buffer> {
  const tooLarge = (): ApiClientError => new ApiClientError('SERVER_RESPONSE_INVALID', `${where} answered more than ${MAX_RESPONSE_BYTES} bytes`);
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > MAX_RESPONSE_BYTES) {
    await response.body?.cancel();
    throw tooLarge();
  }
  if (response.body === null) return Buffer.alloc(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > MAX_RESPONSE_BYTES) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, total);
}

/** A non-2xx answer: the server's problem, or proof that whatever answered is not the API. */
function refusal(response: Response, contentType: string, body: Buffer, where: string): Error {
  if (response.status >= 300 && response.status < 400) {
    const location = printableLine(response.headers.get('location') ?? '(no Location)', 300);
    return new ApiClientError('SERVER_RESPONSE_INVALID', `${where} answered a redirect (HTTP ${response.status} to ${location}); give the final address as --server`);
  }
  if (/json/i.test(contentType)) {
    const problem = problemFromBody(body);
    if (problem) return new ApiProblemError(problem.code, response.status, problem);
  }
  return new ApiClientError('SERVER_RESPONSE_INVALID', `${where} answered HTTP ${response.status} without a problem document; is --server a fleetpki server?`);
}

/** Network failures as the CLI names them; our own errors pass through. */
function transportError(error: unknown, where: string, timeoutMs: number): unknown {
  if (error instanceof ApiProblemError || error instanceof ApiClientError || error instanceof CliError) return error;
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return new ApiClientError('SERVER_TIMEOUT', `${where}: no complete answer within ${timeoutMs / 1000} s`);
  }
  // fetch reports every network failure as TypeError("fetch failed") with the socket error as its cause.
  if (error instanceof TypeError) {
    const cause = error.cause as { code?: unknown; message?: unknown } | undefined;
    const reason = (typeof cause?.message === 'string' && cause.message !== '' ? cause.message : undefined) ?? (typeof cause?.code === 'string' ? cause.code : error.message);
    return new ApiClientError('SERVER_UNREACHABLE', `cannot reach ${where} (${printableLine(reason, 300)}); is the server running? Set --server or ${SERVER_ENV}`);
  }
  return error;
}
