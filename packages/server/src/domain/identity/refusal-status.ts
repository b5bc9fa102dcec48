import type { DeviceAuthFailureCode } from './identity-types.js';

/**
 * The status of a refused device, decided once for every transport (HTTPS sends it, CoAP derives
 * 4.01/4.03 from it): no credential at all is 401 — present one (RFC 9110 §15.5.2, RFC 7252
 * §5.9.2.2); any other refusal is 403 — the credential was seen and is not accepted.
 */
export function refusalStatus(code: DeviceAuthFailureCode): 401 | 403 {
  return code === 'NO_CLIENT_CERTIFICATE' ? 401 : 403;
}
