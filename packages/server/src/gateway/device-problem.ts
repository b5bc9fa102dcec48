import type { DeviceAuthFailureCode } from '../domain/device-authentication.js';

/**
 * The refusal a device gets over HTTPS: RFC 9457 with the failure code, so firmware logs and
 * `curl` show why. No client certificate is 401 (present one); every other refusal is 403.
 */
export function deviceProblemResponse(code: DeviceAuthFailureCode, detail: string, instance: string): Response {
  const status = code === 'NO_CLIENT_CERTIFICATE' ? 401 : 403;
  const body = {
    type: `https://fleetpki.dev/problems/${code.toLowerCase().replace(/_/g, '-')}`,
    title: status === 401 ? 'Unauthorized' : 'Forbidden',
    status,
    code,
    detail,
    instance,
  };
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/problem+json' } });
}
