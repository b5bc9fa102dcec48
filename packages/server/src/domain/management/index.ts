// What operators manage through the API: projects, devices, API keys (and resolving a key to
// its project), and device credentials (pre-shared keys).
// This file is the only door gateway/ and http/ may use (npm run lint enforces it).

export { authenticate, createProjectApiKey, ensureAdminKey, listProjectApiKeys, revokeAdminKeys, revokeProjectApiKey } from './api-keys.js';
export { createPskCredential, listDeviceCredentials, pskSealContext } from './device-credentials.js';
export { createDevice, deleteDevice, getDevice, listDevices, updateDevice } from './devices.js';
export { IMPORT_BATCH_ROWS, importDevices, importStopped, type ImportOutcome, type ImportRow, type ImportRowResult, type ImportSummary } from './device-import.js';
export { caBlastRadius, getDeviceCertificate, listDeviceCertificates, type AffectedDevice, type CaBlastRadius, type DeviceCertificate, type DeviceCertificateQuery } from './device-certificates.js';
export { API_KEY_SCOPES, type ApiKeyScope } from './api-key-scopes.js';
export { authenticateApplication, liveApiKeys, type ApplicationCredential } from './application-keys.js';
export { authenticateForProject, forgetKeysAndProjects } from './key-and-project.js';
export { CRL_VALIDITY_SECONDS_BOUNDS, EXPIRY_ALERT_DAYS_BOUNDS, RENEWAL_JITTER_SECONDS_BOUNDS, ROTATION_GRACE_SECONDS_BOUNDS, TOKEN_AUDIENCES_BOUNDS, TOKEN_LIFETIME_SECONDS_BOUNDS, DEFAULT_PROJECT_SETTINGS, projectSettingsOf, type ProjectSettings } from './project-settings.js';
export { createProject, deleteProject, listProjects, projectForPrincipal, projectView, requireAdmin, updateProject } from './projects.js';
export { renewAfterOf, type RenewableCertificate } from './renewal-window.js';
export { MAX_RENEWAL_DEVICES, requestRenewals, type RenewalRequest, type RenewalRequested } from './renewal-requests.js';
export { EXPIRING_SOON_DAYS, expiringSoonCounts } from './expiring-soon.js';
