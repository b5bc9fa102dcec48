import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { authenticate, requireAdmin } from '../../domain/management/index.js';
import type { ServiceDeps } from '../../domain/shared/index.js';
import { CLIENT_CREDENTIALS_GRANT, TOKEN_SIGNING_ALG, type TokenKeyRing } from '../../domain/tokens/index.js';
import type { AppEnv } from '../app-env.js';
import { jsonResponse as json } from '../route-helpers.js';
import { problemResponses, SECURITY } from '../schemas.js';

/** What the token routes need: the keys, and where the issuer and the gateway's token endpoint are (known once listening). */
export interface TokenRoutesOptions {
  readonly keys: TokenKeyRing;
  /** The platform URL, the tokens' `iss`. */
  readonly issuer: () => string;
  /** The device gateway's HTTPS URL: the token endpoint is there. */
  readonly gatewayUrl: () => string;
}

const PublicJwk = z
  .object({ kty: z.literal('EC'), crv: z.literal('P-256'), x: z.string(), y: z.string(), kid: z.string(), alg: z.literal(TOKEN_SIGNING_ALG), use: z.literal('sig') })
  .openapi('TokenPublicJwk');
const Jwks = z.object({ keys: z.array(PublicJwk) }).openapi('Jwks');
const OpenIdConfiguration = z
  .object({
    issuer: z.string(),
    jwks_uri: z.string(),
    token_endpoint: z.string(),
    token_endpoint_auth_methods_supported: z.array(z.string()),
    tls_client_certificate_bound_access_tokens: z.boolean(),
    grant_types_supported: z.array(z.string()),
    id_token_signing_alg_values_supported: z.array(z.string()),
  })
  .openapi('OpenIdConfiguration');
const TokenKey = z
  .object({
    kid: z.string().openapi({ description: 'RFC 7638 thumbprint of the public key; the tokens’ header names it' }),
    sequence: z.number().int(),
    state: z.enum(['pending', 'active', 'retiring', 'retired']).openapi({ description: 'pending: published, signs from activatesAt; active: signs; retiring: signs no more, published until retiresAt; retired: gone from the JWKS' }),
    createdAt: z.string(),
    activatesAt: z.string(),
    supersededAt: z.string().nullable(),
    retiresAt: z.string().nullable(),
    publicJwk: PublicJwk,
  })
  .openapi('TokenKey');
const TokenKeyList = z.object({ list: z.array(TokenKey) }).openapi('TokenKeyList');

/**
 * The device tokens' public face on the management API (RFC 8705, DESIGN §8): the JWKS and a
 * minimal OpenID provider configuration without a key (like /healthz: relying parties fetch
 * them), and the signing keys for the admin key — listed, or rotated now.
 */
export function tokenKeyRoutes(deps: ServiceDeps, options: TokenRoutesOptions, app: OpenAPIHono<AppEnv>): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/.well-known/jwks.json',
      tags: ['device tokens'],
      summary: 'The keys that sign device tokens (RFC 7517), without a key: the active one, the next one and those whose tokens may still be valid',
      responses: { 200: json(Jwks, 'the JSON Web Key Set') },
    }),
    async (c) => {
      c.header('cache-control', 'public, max-age=300');
      return c.json((await options.keys.jwks()) as z.infer<typeof Jwks>, 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/.well-known/openid-configuration',
      tags: ['device tokens'],
      summary: 'Where the token endpoint and the JWKS are, and what the tokens are (OpenID Connect Discovery, RFC 8414 names), without a key',
      responses: { 200: json(OpenIdConfiguration, 'the provider metadata') },
    }),
    (c) => {
      const issuer = options.issuer();
      c.header('cache-control', 'public, max-age=300');
      return c.json(
        {
          issuer,
          jwks_uri: `${issuer.replace(/\/$/, '')}/.well-known/jwks.json`,
          token_endpoint: `${options.gatewayUrl().replace(/\/$/, '')}/v1/token`,
          // RFC 8705 §2.1.2 and §3.3: the certificate of the TLS handshake authenticates the device and binds its tokens.
          token_endpoint_auth_methods_supported: ['tls_client_auth'],
          tls_client_certificate_bound_access_tokens: true,
          grant_types_supported: [CLIENT_CREDENTIALS_GRANT],
          id_token_signing_alg_values_supported: [TOKEN_SIGNING_ALG],
        },
        200,
      );
    },
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/token-keys',
      tags: ['device tokens'],
      summary: 'The device-token signing keys and their states, newest first (admin key)',
      security: SECURITY,
      responses: { 200: json(TokenKeyList, 'the keys'), ...problemResponses(401, 403) },
    }),
    async (c) => {
      requireAdmin(await authenticate(deps, c.req.header('x-api-key')), 'listing the token signing keys');
      return c.json({ list: (await options.keys.list()) as z.infer<typeof TokenKey>[] }, 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/token-keys',
      tags: ['device tokens'],
      summary: 'Rotate the device-token signing key now (admin key): the new key is published at once and signs from its activatesAt',
      security: SECURITY,
      responses: { 201: json(TokenKey, 'the new key'), ...problemResponses(401, 403) },
    }),
    async (c) => {
      const principal = await authenticate(deps, c.req.header('x-api-key'));
      requireAdmin(principal, 'rotating the token signing key');
      return c.json((await options.keys.rotate(principal)) as z.infer<typeof TokenKey>, 201);
    },
  );
}
