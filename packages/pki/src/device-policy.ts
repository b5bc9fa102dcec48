import type { Certificate } from './certificate.js';
import { PkiError } from './errors.js';
import { extendedKeyUsageAllows } from './extensions.js';
import { deviceIdentityFromSubject, type DeviceIdentity } from './identity.js';
import { isAcceptableKey } from './issuance.js';
import { Oid } from './oids.js';

/**
 * DESIGN §3 on what a device certificate is beyond its subject: an end entity, whose EKU (when
 * present) allows TLS client authentication, with a key we accept for devices. Callers that have
 * read the subject already (the gateway, which needs its O to find the project) ask only this.
 */
export function assertDeviceCertificatePolicy(cert: Certificate): void {
  if (cert.basicConstraints?.ca === true) {
    throw new PkiError('DEVICE_CERT_IS_CA', 'a CA certificate cannot identify a device');
  }
  if (!extendedKeyUsageAllows(cert, Oid.clientAuth)) {
    throw new PkiError('EKU_CLIENT_AUTH_MISSING', 'the certificate’s extended key usage does not allow TLS client authentication');
  }
  if (!isAcceptableKey(cert.publicKey.algorithm, { kind: 'device' })) {
    throw new PkiError('WEAK_KEY', 'device keys must be EC P-256, P-384 or RSA of at least 2048 bits');
  }
}

/**
 * DESIGN §3 on a device certificate itself (the chain is the validator's business): the
 * subject names the project and certificate ID, and the certificate passes the device policy.
 */
export function deviceIdentityFromCertificate(cert: Certificate, expectedProject?: string): DeviceIdentity {
  const identity = deviceIdentityFromSubject(cert.subject, expectedProject);
  assertDeviceCertificatePolicy(cert);
  return identity;
}
