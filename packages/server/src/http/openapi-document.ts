import { createSelfSignedCa, generateKeyPair, parseCertificate, parseSubjectString, validityForDays, type Certificate } from '@fleetpki/pki';
import type { PkiDeps } from '../domain/issuance/index.js';
import type { ManagedCaPublication } from '../domain/revocation/index.js';
import type { SecretSealer } from '../domain/shared/index.js';
import type { Readiness } from '../platform/readiness.js';
import { silentLogger } from '../logger.js';
import { SERVER_VERSION } from '../serve.js';
import { createManagementApp, type AppMetrics } from './create-app.js';
import type { TokenRoutesOptions } from './routes/token-keys.js';

/**
 * The management API's OpenAPI document, exactly as `GET /openapi.json` answers it, from the app
 * built in-process: no store, no data directory, no listener. Client types are generated from it
 * (scripts/generate-api-types.mjs), so the CLI and the console read the shapes the routes declare.
 */
export async function managementApiDocument(): Promise<unknown> {
  const app = createManagementApp({
    deps: refused<PkiDeps>('deps'),
    logger: silentLogger,
    platformRoot: throwawayRoot(),
    version: SERVER_VERSION,
    sealer: refused<SecretSealer>('the secret sealer'),
    publication: refused<ManagedCaPublication>('the revocation publication'),
    readiness: refused<Readiness>('readiness'),
    tokens: refused<TokenRoutesOptions>('the token signing keys'),
    // Counting the document's own request is harmless; a scrape is not part of describing.
    metrics: { httpRequest: () => {}, scrape: () => Promise.reject(new Error('the metrics are not read to describe the API')) } satisfies AppMetrics,
  });
  const response = await app.request('/openapi.json');
  if (response.status !== 200) throw new Error(`GET /openapi.json answered HTTP ${response.status}`);
  return response.json();
}

/**
 * The routes only close over their dependencies; answering /openapi.json reads none. Any read
 * throws, so a route that ever needs a store to describe itself fails here instead of describing
 * something made up.
 */
function refused<T extends object>(what: string): T {
  return new Proxy({} as T, { get: (_target, name) => refuse(`${what}.${String(name)}`) });
}

function refuse(what: string): never {
  throw new Error(`building the OpenAPI document read ${what}, which it must not need`);
}

/** `GET /v1/server-ca` is declared with its root at hand; the document never shows the root, so any serves. */
function throwawayRoot(): Certificate {
  const { privateKey } = generateKeyPair({ kind: 'ec', curve: 'P-256' });
  const issued = createSelfSignedCa({ subject: parseSubjectString('/CN=fleetpki OpenAPI document'), privateKey, validity: validityForDays(new Date(), 1) });
  return parseCertificate(issued.der);
}
