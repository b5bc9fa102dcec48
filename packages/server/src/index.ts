export { startServer, ADMIN_KEY_FILE, DEFAULT_DATA_DIR, DEFAULT_HTTP_PORT, DEFAULT_GATEWAY_PORT, DEFAULT_MQTT_PORT, DEFAULT_COAP_PORT, type RunningServer, type ServeOptions } from './serve.js';
export { StartupError, type StartupErrorCode } from './startup-error.js';
export { SERVICE_ERROR_CODES, SERVICE_ERROR_FACTS, ServiceError, isServiceError, type AnyServiceError, type ServiceErrorCode, type ServiceErrorContext } from './service-error.js';
export { PROBLEM_STATUS } from './edge/problem-status.js';
export { jsonLogger, silentLogger, type Logger, type LogLevel } from './logger.js';
export { ROOT_CERT_FILE, ROOT_KEY_FILE, SERVER_CERT_FILE, SERVER_KEY_FILE } from './platform/platform-pki.js';
export { MASTER_KEY_ENV, MASTER_KEY_FILE } from './platform/master-key.js';
export { SQLITE_FILE_NAME } from './store/open-store.js';
// The API's resource shapes, for clients (the CLI) to share instead of restating them.
export type { Project } from './domain/management/projects.js';
export type { CaCertificate } from './domain/authorities/ca-certificates.js';
export type { UploadWarning, CertType } from './domain/authorities/ca-upload-rules.js';
export type { Device, Provisioning } from './domain/management/devices.js';
export type { ApiKey, NewApiKey } from './domain/management/api-keys.js';
export type { AuditEvent } from './domain/shared/audit-log.js';
export type { Page } from './domain/shared/pagination.js';
// The device transports' TLS settings and keep-alive, shared with bench/gateway.mjs's baseline.
export { deviceTlsOptions } from './gateway/tls-server-options.js';
// The DTLS addon's client role, for the CLI's device client over CoAP.
export { nativeDtls, type NativeDtls, type NativeHandle, type NativeResult } from './gateway/native-dtls.js';
export { DEVICE_KEEP_ALIVE_MS } from './gateway/device-https.js';
export { SECRET_FILES as SECRET_FILE_NAMES } from './platform/data-dir-permissions.js';
// The management API's OpenAPI document, built in-process: the source of the clients' generated types.
export { managementApiDocument } from './http/openapi-document.js';
export { serveClusterMetrics } from './platform/cluster-metrics.js';
export { BackupError, restoreBackup, writeBackup, type BackupErrorCode, type BackupSummary, type RestoreSummary } from './platform/backup.js';
export {
  addMasterKey,
  DEFAULT_SETTLE_MS,
  MasterKeyError,
  masterKeyStatus,
  resealMasterKey,
  rotateMasterKey,
  type MasterKeyErrorCode,
  type MasterKeyStatus,
  type MasterKeyTarget,
  type ResealSummary,
  type RotationSummary,
} from './platform/master-key-rotation.js';
