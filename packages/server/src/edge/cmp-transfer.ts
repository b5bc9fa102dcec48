import type { IncomingMessage, ServerResponse } from 'node:http';
import { MAX_CMP_MESSAGE_BYTES } from '@fleetpki/pki';
import { answerCmp, type PkiDeps } from '../domain/issuance/index.js';
import { readBoundedBody } from './request-body.js';
import { ServiceError } from '../service-error.js';

/** RFC 6712 §3.6 as RFC 9483 §6.1 fixes it: `/.well-known/cmp`, or `/.well-known/cmp/p/{projectId}` to name the project. */
export const CMP_PATH = /^\/\.well-known\/cmp(?:\/p\/([a-z0-9][a-z0-9-]{1,62}))?$/;

/** The media type of a PKIMessage over HTTP (RFC 6712 §3.4). */
export const PKIXCMP = 'application/pkixcmp';

/**
 * CMP over HTTP (RFC 6712), on the device gateway and the management port alike: POST a DER
 * PKIMessage, get one back with 200 — an error message too, which the client reads (§3.6).
 * Bootstrap clients carry no certificate: the message's own protection authenticates them. On
 * the management port it runs before the framework, as the issue route does (http/cmp-fast-path.ts):
 * an enrollment is worth as little overhead around its signature as an API issuance.
 */
export async function handleCmp(deps: PkiDeps, req: IncomingMessage, res: ServerResponse, projectSlug: string | undefined): Promise<void> {
  if (req.method !== 'POST') throw new ServiceError('ROUTE_NOT_FOUND', 'CMP takes POST (RFC 6712 §3.3)');
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== PKIXCMP) throw new ServiceError('UNSUPPORTED_MEDIA_TYPE', `send the PKIMessage as ${PKIXCMP}`);
  const body = await readBoundedBody(req, MAX_CMP_MESSAGE_BYTES);
  const answer = await answerCmp(deps, body, projectSlug);
  res.writeHead(200, { 'content-type': PKIXCMP, 'content-length': answer.der.length, 'cache-control': 'no-store' });
  res.end(answer.der);
}
