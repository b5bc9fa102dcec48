import type { DeviceAuthFailureCode } from '../domain/identity/index.js';
import { problemBody } from '../edge/problem.js';

/**
 * The refusal a device gets over HTTPS: RFC 9457 with the failure code, so firmware logs and
 * `curl` show why. No client certificate is 401 (present one); every other refusal is 403.
 */
export function deviceProblem(code: DeviceAuthFailureCode, detail: string, instance: string): { status: number; body: Record<string, unknown> } {
  const status = code === 'NO_CLIENT_CERTIFICATE' ? 401 : 403;
  return { status, body: problemBody(status, code, detail, instance) };
}
