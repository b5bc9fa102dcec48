import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { encodeCsrAttributes } from '@fleetpki/pki';
import type { DeviceAuthResult } from '../domain/identity/index.js';
import { enrollWithToken } from '../domain/issuance/index.js';
import { enrollWithManufacturerCertificate } from '../domain/issuance/index.js';
import { MAX_CSR_BYTES } from '../domain/issuance/index.js';
import type { PkiDeps } from '../domain/issuance/index.js';
import { ServiceError } from '../service-error.js';
import { renewDeviceCertificate } from '../domain/issuance/index.js';
import { basicPassword, decodeEstCsr, EST_CERTS_HEADERS, estBase64, estCertsOnly, serverKeygenResponse } from './est-messages.js';
import { hashEnrollmentToken, issueWithServerKey, type ServerKeygenEntitlement } from '../domain/issuance/index.js';
import { peerChain } from './peer-chain.js';
import { readBoundedBody } from '../edge/request-body.js';

/**
 * RFC 7030 §3.2.2: `/.well-known/est/[label]/operation`; fleetpki's label is the project slug
 * (needed only where nothing else names the project: `cacerts` and `csrattrs` without a device
 * certificate). `/p/{projectId}/.well-known/est/operation` names it too, for clients that add
 * `/.well-known/est/…` to a base URL and cannot put a label after it (strongSwan's `pki --est`).
 */
const EST_PATH = /^(?:\/p\/([a-z0-9][a-z0-9-]{1,62}))?\/\.well-known\/est(?:\/([a-z0-9][a-z0-9-]{1,62}))?\/(cacerts|simpleenroll|simplereenroll|csrattrs|serverkeygen)$/;
export type EstOperation = 'cacerts' | 'simpleenroll' | 'simplereenroll' | 'csrattrs' | 'serverkeygen';

/** The EST operation a path asks for and the project it names, if it is an EST path (two different names for the project are not). */
export function estRoute(path: string): { readonly operation: EstOperation; readonly label: string | undefined } | undefined {
  const match = EST_PATH.exec(path);
  if (!match) return undefined;
  const [, prefix, label] = match;
  if (prefix !== undefined && label !== undefined && prefix !== label) return undefined;
  return { operation: match[3] as EstOperation, label: label ?? prefix };
}

/** A base64 body is 4/3 of the DER it carries, plus line breaks. */
const MAX_EST_BODY_BYTES = MAX_CSR_BYTES * 2;

type Refusal = (res: ServerResponse, result: Extract<DeviceAuthResult, { ok: false }>, path: string) => void;

/**
 * EST over the device gateway (RFC 7030 §4.1, §4.2): `cacerts` answers the project's issuing
 * CA, its chain and the root of the gateway's TLS certificate; `simpleenroll` bootstraps a device with a one-time token as HTTP Basic
 * credentials (§3.2.3), or serves a device that already holds a certificate; `simplereenroll`
 * renews over the device's certificate (§4.2.2). Every issuance goes through the one pipeline.
 */
export async function handleEst(
  deps: PkiDeps,
  req: IncomingMessage,
  res: ServerResponse,
  operation: EstOperation,
  label: string | undefined,
  path: string,
  verdictOf: (req: IncomingMessage) => Promise<DeviceAuthResult>,
  refusal: Refusal,
  serverRootDer: Buffer | undefined,
): Promise<void> {
  const expected = operation === 'cacerts' || operation === 'csrattrs' ? 'GET' : 'POST';
  if (req.method !== expected) throw new ServiceError('ROUTE_NOT_FOUND', `EST ${operation} takes ${expected}`);
  if (operation === 'cacerts' || operation === 'csrattrs') {
    const slug = label ?? (await deviceProjectSlug(req, verdictOf));
    const project = await deps.db.selectFrom('projects').selectAll().where('slug', '=', slug).executeTakeFirst();
    if (!project) throw new ServiceError('PROJECT_NOT_FOUND', `no project ${JSON.stringify(slug)}`, { projectId: slug });
    const ca = await deps.issuingCas.forProject(project);
    if (operation === 'csrattrs') {
      const text = estBase64(encodeCsrAttributes(project.slug, ca.profile.keyTypes));
      res.writeHead(200, { 'content-type': 'application/csrattrs', 'content-transfer-encoding': 'base64', 'content-length': Buffer.byteLength(text) });
      res.end(text);
      return;
    }
    const chain = ca.chainAbove;
    // The root the gateway's own TLS certificate chains to as well: an EST client takes its
    // explicit trust anchors for the EST server from this answer (RFC 7030 §3.6.1, §4.1.3).
    const certificates = [ca.signer.caCertificate.der, ...chain];
    if (serverRootDer && !certificates.some((der) => der.equals(serverRootDer))) certificates.push(serverRootDer);
    return sendCerts(res, certificates);
  }
  const body = await readBoundedBody(req, MAX_EST_BODY_BYTES);
  const token = basicPassword(req.headers.authorization);
  if (operation === 'serverkeygen') return serverKeygen(deps, req, res, body, token, label, path, verdictOf, refusal);
  if (operation === 'simpleenroll' && token !== undefined) {
    const issued = await enrollWithToken(deps, token, decodeEstCsr(body), label);
    return sendCerts(res, [issued.der]);
  }
  const result = await verdictOf(req);
  if (!result.ok) {
    if (operation === 'simpleenroll') {
      const chain = peerChain(req.socket as TLSSocket);
      // A certificate that is not a device's may be a manufacturer's (IDevID), checked against the labelled project.
      if (chain.length > 0 && label !== undefined) return sendCerts(res, [(await enrollWithManufacturerCertificate(deps, label, chain, decodeEstCsr(body))).der]);
      throw new ServiceError(
        'ENROLLMENT_TOKEN_MISSING',
        'EST simpleenroll needs a one-time enrollment token as HTTP Basic credentials, a device certificate, or a manufacturer certificate at /.well-known/est/{projectId}/simpleenroll',
      );
    }
    return refusal(res, result, path);
  }
  if (label !== undefined && label !== result.device.projectId) {
    throw new ServiceError('PROJECT_ACCESS_DENIED', `this device belongs to project ${JSON.stringify(result.device.projectId)}, not ${JSON.stringify(label)}`, { projectId: label });
  }
  const issued = await renewDeviceCertificate(deps, result.device, decodeEstCsr(body), 'est-reenroll');
  return sendCerts(res, [issued.der]);
}

/** serverkeygen (RFC 7030 §4.4): a token's holder, or a device by its certificate, gets a key made for it. */
async function serverKeygen(
  deps: PkiDeps,
  req: IncomingMessage,
  res: ServerResponse,
  body: Buffer,
  token: string | undefined,
  label: string | undefined,
  path: string,
  verdictOf: (req: IncomingMessage) => Promise<DeviceAuthResult>,
  refusal: Refusal,
): Promise<void> {
  let entitlement: ServerKeygenEntitlement;
  if (token !== undefined) {
    const row = await deps.db.selectFrom('enrollment_tokens').selectAll().where('token_hash', '=', hashEnrollmentToken(token)).executeTakeFirst();
    if (!row) throw new ServiceError('ENROLLMENT_TOKEN_INVALID', 'the enrollment token is not known');
    entitlement = { kind: 'token', token: row, projectSlug: label };
  } else {
    const result = await verdictOf(req);
    if (!result.ok) {
      if (peerChain(req.socket as TLSSocket).length === 0) throw new ServiceError('ENROLLMENT_TOKEN_MISSING', 'EST serverkeygen needs a one-time enrollment token as HTTP Basic credentials, or a device certificate');
      return refusal(res, result, path);
    }
    if (label !== undefined && label !== result.device.projectId) {
      throw new ServiceError('PROJECT_ACCESS_DENIED', `this device belongs to project ${JSON.stringify(result.device.projectId)}, not ${JSON.stringify(label)}`, { projectId: label });
    }
    // A new key for a known device: over its certificate, as any rotation (DESIGN §5), never a PSK session.
    if (result.device.credential !== 'certificate') throw new ServiceError('NO_CLIENT_CERTIFICATE', 'a new key for a known device needs a connection authenticated with its certificate');
    entitlement = { kind: 'device', device: result.device };
  }
  const { issued, privateKeyPkcs8 } = await issueWithServerKey(deps, entitlement, decodeEstCsr(body));
  const { contentType, text } = serverKeygenResponse(privateKeyPkcs8, issued.der);
  res.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

async function deviceProjectSlug(req: IncomingMessage, verdictOf: (req: IncomingMessage) => Promise<DeviceAuthResult>): Promise<string> {
  const result = await verdictOf(req);
  if (!result.ok) throw new ServiceError('ROUTE_NOT_FOUND', 'EST cacerts without a device certificate needs the project as label: /.well-known/est/{projectId}/cacerts');
  return result.device.projectId;
}

function sendCerts(res: ServerResponse, certificates: readonly Buffer[]): void {
  const text = estCertsOnly(certificates);
  res.writeHead(200, { ...EST_CERTS_HEADERS, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
