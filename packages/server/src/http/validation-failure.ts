import { ServiceError } from '../service-error.js';

/** What a schema said of a request, as zod reports it. */
export interface SchemaIssue {
  readonly path: readonly PropertyKey[];
  readonly message: string;
}

/** A request that fails its route's schema: VALIDATION_FAILED with every offending field listed (the app and the fast path alike). */
export function validationFailure(schemaIssues: readonly SchemaIssue[]): ServiceError {
  const issues = schemaIssues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }));
  const summary = issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ');
  return new ServiceError('VALIDATION_FAILED', `the request is not valid: ${summary}`, { issues });
}
