import { attributeValues, fingerprintSha256, isPkiError, isValidCertificateId, Oid, parseCertificate, verifyChain, type Certificate } from '@fleetpki/pki';
import { ServiceError } from '../../service-error.js';
import { MAX_PEER_CHAIN } from '../identity/device-authentication.js';
import { issueDeviceCertificateFor, type IssuedDeviceCertificate } from './issuance-pipeline.js';
import type { PkiDeps } from './pki-deps.js';
import type { ProjectRow } from '../../store/schema.js';

/**
 * EST simpleenroll vouched for by a manufacturer certificate (an IDevID, RFC 7030 §3.3.2: the
 * client authenticates with a certificate from a CA the server trusts for that purpose): the
 * chain the device sent in the handshake (which proved possession of its key) must validate to
 * one of the project's enabled manufacturer CAs, and its CN becomes the certificate ID. A
 * manufacturer CA is never a trust anchor for connecting, so a factory certificate alone never
 * lets a device in.
 */
export async function enrollWithManufacturerCertificate(deps: PkiDeps, projectSlug: string, chainDer: readonly Buffer[], csrDer: Buffer): Promise<IssuedDeviceCertificate> {
  const project = await deps.db.selectFrom('projects').selectAll().where('slug', '=', projectSlug).executeTakeFirst();
  if (!project) throw new ServiceError('PROJECT_NOT_FOUND', `no project ${JSON.stringify(projectSlug)}`, { projectId: projectSlug });
  const vouched = await manufacturerIdentity(deps, project, chainDer);
  return issueDeviceCertificateFor(deps, { project, csrDer, channel: 'est-enroll', actor: vouched.actor, entitlement: { kind: 'identity', certificateId: vouched.certificateId } });
}

/** The identity a manufacturer certificate vouches for: its CN as the certificate ID, and how the audit log names it. */
export interface ManufacturerIdentity {
  readonly certificateId: string;
  readonly actor: string;
}

/**
 * Checks a chain (leaf first) against the project's enabled manufacturer CAs (EST's TLS client
 * chain, CMP's extraCerts): the caller has already seen the leaf's key prove itself.
 */
export async function manufacturerIdentity(deps: PkiDeps, project: ProjectRow, chainDer: readonly Buffer[]): Promise<ManufacturerIdentity> {
  let chain: Certificate[];
  try {
    chain = chainDer.slice(0, MAX_PEER_CHAIN).map((der) => parseCertificate(der));
  } catch (error) {
    if (isPkiError(error)) throw new ServiceError('MANUFACTURER_CERT_INVALID', `the client certificate does not parse: ${error.message}`, { reason: error.code });
    throw error;
  }
  const [leaf, ...intermediates] = chain;
  if (!leaf) throw new ServiceError('ENROLLMENT_TOKEN_MISSING', 'EST simpleenroll needs a one-time enrollment token or a manufacturer certificate');
  const anchors = await deps.projectAnchors.anchorsFor(project);
  const result = verifyChain({ leaf, anchors: anchors.manufacturers, intermediates, time: deps.now(), options: { purpose: 'client' } });
  if (!result.ok) {
    throw new ServiceError('MANUFACTURER_CERT_INVALID', `the client certificate is not vouched for by a manufacturer CA of the project: ${result.message}`, { reason: result.code });
  }
  const names = attributeValues(leaf.subject, Oid.commonName);
  const certificateId = names.length === 1 ? (names[0] as string) : undefined;
  if (certificateId === undefined || !isValidCertificateId(certificateId)) {
    throw new ServiceError('MANUFACTURER_CERT_INVALID', 'the manufacturer certificate needs exactly one CN that is a valid certificate ID', { reason: 'INVALID_CERTIFICATE_ID' });
  }
  return { certificateId, actor: `manufacturer-certificate:${fingerprintSha256(leaf.der)}` };
}
