export { startServer, ADMIN_KEY_FILE, DEFAULT_DATA_DIR, DEFAULT_HTTP_PORT, type RunningServer, type ServeOptions } from './serve.js';
export { StartupError, type StartupErrorCode } from './startup-error.js';
export { SERVICE_ERROR_CODES, ServiceError, type ServiceErrorCode } from './service-error.js';
export { PROBLEM_STATUS } from './http/problem-status.js';
export { jsonLogger, silentLogger, type Logger, type LogLevel } from './logger.js';
export { ROOT_CERT_FILE, ROOT_KEY_FILE, SERVER_CERT_FILE, SERVER_KEY_FILE } from './platform/platform-pki.js';
export { SQLITE_FILE_NAME } from './store/open-store.js';
