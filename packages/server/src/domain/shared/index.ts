// What every room of the domain uses: the store and clock handed to services, who is calling,
// paging, the audit log, optimistic concurrency, per-project counters, ids and displayable text.
// This file is the only door gateway/ and http/ may use (npm run lint enforces it).

export { listAuditEvents } from './audit-log.js';
export { hasUndisplayableCharacter } from './display-text.js';
export { COUNT_CAP, DEFAULT_PER_PAGE, MAX_OFFSET_ROWS, MAX_PER_PAGE } from './pagination.js';
export { type Principal } from './principal.js';
export { type OpenedSecret, type SecretSealer } from './secret-sealer.js';
export { type ServiceDeps } from './service-deps.js';
export { NO_TELEMETRY, type Telemetry } from './telemetry.js';
