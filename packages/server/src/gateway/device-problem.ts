import { refusalStatus, type DeviceRefusal } from '../domain/identity/index.js';
import { problemBody } from '../edge/problem.js';

/**
 * The refusal a device gets over HTTPS: RFC 9457 with the failure code, so firmware logs and
 * `curl` show why. The status comes from the identity room's refusalStatus.
 */
export function deviceProblem(refusal: DeviceRefusal, instance: string): { status: number; body: Record<string, unknown> } {
  const status = refusalStatus(refusal.code);
  return { status, body: problemBody(status, refusal.code, refusal.message, instance, refusal.context) };
}
