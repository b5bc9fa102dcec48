import type { AuthenticatedDevice } from '../domain/identity/index.js';
import { issueDeviceCertificateFor, MAX_CSR_BYTES, type IssuanceChannel, type IssuedDeviceCertificate } from '../domain/issuance/index.js';
import type { PkiDeps } from '../domain/issuance/index.js';
import { ServiceError } from '../service-error.js';

/**
 * A device renewing its own certificate over an authenticated connection (Golioth's `POST
 * v1/csr`, EST simplereenroll): the new certificate carries the identity the device
 * authenticated as — its project and certificate ID, whatever the CSR's subject says — so the
 * device stays the same device (DESIGN §4: the certificate ID is what provisioning finds it by).
 */
export async function renewDeviceCertificate(deps: PkiDeps, device: AuthenticatedDevice, csrDer: Buffer, channel: IssuanceChannel): Promise<IssuedDeviceCertificate> {
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

export { MAX_CSR_BYTES };
