/**
 * The management API's operations as types, read off the generated `paths`: the methods a path
 * has, its path and query parameters, its JSON body, and the JSON its success answers. A request
 * or an answer that drifts from the server's route schemas fails to compile (Api.call).
 */
import type { paths } from './openapi.generated';

export type ApiPath = keyof paths;
export type HttpMethod = 'get' | 'put' | 'post' | 'patch' | 'delete';

/** The methods a path declares; the generator writes `?: never` for the others. */
export type MethodOf<P extends ApiPath> = { [M in HttpMethod]: paths[P][M] extends undefined ? never : M }[HttpMethod];

type Operation<P extends ApiPath, M extends HttpMethod> = NonNullable<paths[P][M]>;

/** The JSON a request or response object carries; undefined for one without content (a 204). */
type JsonContent<T> = T extends { readonly content: { readonly 'application/json': infer J } } ? J : undefined;

type Responses<P extends ApiPath, M extends HttpMethod> = Operation<P, M>['responses'];

/** What a success (2xx) answers: a union where there are several (a 201 or a 207 bundle). */
export type Answer<P extends ApiPath, M extends HttpMethod> = {
  [S in keyof Responses<P, M>]: `${S & (string | number)}` extends `2${string}` ? JsonContent<Responses<P, M>[S]> : never;
}[keyof Responses<P, M>];

export type PathParams<P extends ApiPath, M extends HttpMethod> = NonNullable<Operation<P, M>['parameters']['path']>;
export type QueryParams<P extends ApiPath, M extends HttpMethod> = NonNullable<Operation<P, M>['parameters']['query']>;
export type RequestBody<P extends ApiPath, M extends HttpMethod> = JsonContent<NonNullable<Operation<P, M>['requestBody']>>;

/** A call's parts: `path` whenever the path has parameters, `body` whenever the operation requires one. */
export type CallRequest<P extends ApiPath, M extends HttpMethod> = ([PathParams<P, M>] extends [never] ? { readonly path?: undefined } : { readonly path: PathParams<P, M> }) &
  (Operation<P, M> extends { readonly requestBody: object } ? { readonly body: RequestBody<P, M> } : { readonly body?: RequestBody<P, M> }) & {
    readonly query?: QueryParams<P, M>;
  };

/** The paths whose GET answers a page ({list, page, perPage, total, nextCursor}). */
export type ListPath = {
  [P in ApiPath]: 'get' extends MethodOf<P> ? (Answer<P, 'get'> extends { readonly list: readonly unknown[]; readonly nextCursor: string | null } ? P : never) : never;
}[ApiPath];

/** One item of a list path's pages. */
export type ListItem<P extends ListPath> = Answer<P, 'get'> extends { readonly list: readonly (infer I)[] } ? I : never;
