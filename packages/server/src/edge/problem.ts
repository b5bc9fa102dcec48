import type { ServiceError } from '../service-error.js';
import { PROBLEM_STATUS, STATUS_TITLE } from './problem-status.js';

/**
 * An RFC 9457 problem document: a `type` URL and `code` from the stable code, the status's
 * title, the human `detail`, and the facts of the failure as extra members. Every problem the
 * server sends, management API or device gateway, is made here.
 */
export function problemBody(status: number, code: string, detail: string, instance?: string, facts: Readonly<Record<string, unknown>> = {}): Record<string, unknown> {
  return {
    ...facts,
    type: `https://fleetpki.dev/problems/${code.toLowerCase().replace(/_/g, '-')}`,
    title: STATUS_TITLE[status] ?? 'Error',
    status,
    code,
    detail,
    ...(instance ? { instance } : {}),
  };
}

/** The problem document for a service error: its status from the one table. */
export function problemDocument(error: ServiceError, instance?: string): Record<string, unknown> {
  return problemBody(PROBLEM_STATUS[error.code], error.code, error.message, instance, error.context);
}
