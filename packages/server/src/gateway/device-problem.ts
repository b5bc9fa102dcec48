import { refusalStatus, type DeviceAuthFailureCode } from '../domain/identity/index.js';
import { problemBody } from '../edge/problem.js';

/**
 * The refusal a device gets over HTTPS: RFC 9457 with the failure code, so firmware logs and
 * `curl` show why. The status comes from the identity room's refusalStatus.
 */
export function deviceProblem(code: DeviceAuthFailureCode, detail: string, instance: string): { status: number; body: Record<string, unknown> } {
  const status = refusalStatus(code);
  return { status, body: problemBody(status, code, detail, instance) };
}
