import type { AuthenticatedDevice } from '../identity/identity-types.js';
import { ServiceError } from '../../service-error.js';
import { issueDeviceCertificateFor, type IssuanceChannel, type IssuedDeviceCertificate } from './issuance-pipeline.js';
import type { PkiDeps } from './pki-deps.js';

/**
 * A device renewing its own certificate over an authenticated connection (Golioth's `POST
 * v1/csr` over HTTPS or CoAP, EST simplereenroll): the new certificate carries the identity the
 * device authenticated as — its project and certificate ID, whatever the CSR's subject says — so
 * the device stays the same device (DESIGN §4: the certificate ID is what provisioning finds it
 * by). The renewal rules live here, once, whatever the transport.
 */
export async function renewDeviceCertificate(deps: PkiDeps, device: AuthenticatedDevice, csrDer: Buffer, channel: IssuanceChannel): Promise<IssuedDeviceCertificate> {
  // DESIGN §5: rotation is authenticated by the device's current certificate, not a pre-shared key.
  if (device.credential !== 'certificate') {
    throw new ServiceError('NO_CLIENT_CERTIFICATE', 'rotation needs a connection authenticated with the device certificate');
  }
  const project = await deps.db.selectFrom('projects').selectAll().where('id', '=', device.projectKey).executeTakeFirst();
  if (!project) throw new ServiceError('PROJECT_NOT_FOUND', `no project ${JSON.stringify(device.projectId)} (it was deleted)`, { projectId: device.projectId });
  if (csrDer.length === 0) throw new ServiceError('CSR_UNPARSABLE', 'the request body is empty: send a DER PKCS#10 request');
  return issueDeviceCertificateFor(deps, {
    project,
    csrDer,
    channel,
    actor: `device:${device.deviceId}`,
    entitlement: { kind: 'device', deviceId: device.deviceId, certificateId: device.certificateId },
  });
}
