import { ApiError, type Problem } from './api';

/**
 * The server's stable codes in words a person understands. The server's own `detail` stays
 * available under the sentence (the console shows both), so nothing the server said is lost.
 */

function fact(problem: Problem, name: string): string | undefined {
  const value = problem[name];
  return typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
}

function day(iso: string | undefined): string {
  if (!iso) return 'an unknown date';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

const PROBLEM_SENTENCES: Readonly<Record<string, (p: Problem) => string>> = {
  // CA uploads
  CA_NOT_A_CA: () => 'This is a device certificate, not a CA. Upload the certificate of the CA that signs your devices’ certificates (its basic constraints must say CA:TRUE).',
  CA_KEY_CERT_SIGN_MISSING: () => 'This CA certificate is not allowed to sign certificates: its key usage lacks “Certificate Sign” (keyCertSign).',
  CA_EXPIRED: (p) => `This CA certificate has expired (on ${day(fact(p, 'notAfter'))}). Upload a current one.`,
  CA_NOT_YET_VALID: (p) => `This CA certificate is not valid yet (it starts on ${day(fact(p, 'notBefore'))}). Check the clock of the machine that made it.`,
  CA_ROOT_NOT_SELF_SIGNED: () => 'This certificate is not self-signed, so it cannot be a root. It was issued by another CA: choose Intermediate instead.',
  CA_ROOT_SIGNATURE_INVALID: () => 'This certificate claims to be a self-signed root, but its signature does not verify with its own key.',
  CA_DUPLICATE: () => 'This certificate is already in the project.',
  CERT_FILE_UNPARSABLE: (p) =>
    Array.isArray(p['labels'])
      ? `The file holds more than certificates (${(p['labels'] as unknown[]).join(', ')}). Never upload a private key: choose a file with only the CA certificate.`
      : 'This file is not a certificate. Choose a certificate in PEM (“-----BEGIN CERTIFICATE-----”) or DER form.',
  CERT_FILE_EMPTY: () => 'The file holds no certificate. Choose a PEM or DER certificate file.',
  CERT_FILE_TOO_MANY: (p) => `The file holds too many certificates${fact(p, 'max') ? ` (at most ${fact(p, 'max')} per upload)` : ''}. Split it into smaller files.`,
  CERT_FILE_INVALID_BASE64: () => 'The file could not be sent as a certificate. Choose a PEM or DER certificate file.',
  BODY_TOO_LARGE: () => 'The file is too large (the limit is 1 MiB). A CA certificate is usually a few kilobytes.',
  // Integrated PKI
  MANAGED_CA_KEY_MISMATCH: () => 'This certificate does not certify the issuing CA’s key. Sign the CSR shown for this CA, not another one.',
  MANAGED_CA_NOT_PENDING: () => 'This issuing CA already has its certificate.',
  MANAGED_CA_NOT_FOUND: () => 'This issuing CA no longer exists (it may have been deleted).',
  PKCS11_NOT_CONFIGURED: () => 'This server runs without a PKCS#11 token, so it keeps CA keys sealed under its master key.',
  CA_KEY_UNAVAILABLE: () => 'The server cannot use this CA’s key right now (its token or master key is not available).',
  SIGNER_UNAVAILABLE: (p) => `The remote signer cannot be reached: ${p.detail}`,
  // Projects and devices
  PROJECT_SLUG_TAKEN: (p) => `A project with the slug “${fact(p, 'slug') ?? ''}” already exists. Choose another slug.`,
  PROJECT_SLUG_INVALID: () => 'A slug is 2 to 63 characters: lower-case letters, digits and hyphens, starting with a letter or digit.',
  PROJECT_NOT_FOUND: (p) => `There is no project “${fact(p, 'projectId') ?? ''}” (it may have been deleted).`,
  PROJECT_ACCESS_DENIED: () => 'Your API key belongs to another project and cannot open this one.',
  ADMIN_KEY_REQUIRED: () => 'This needs the admin API key; a project key can only work inside its own project.',
  DEVICE_NAME_TAKEN: () => 'A device with this name already exists in the project.',
  DEVICE_NAME_INVALID: (p) => `That device name is not allowed: ${p.detail}`,
  DEVICE_NOT_FOUND: () => 'This device no longer exists (it may have been deleted).',
  CA_NOT_FOUND: () => 'This CA certificate no longer exists (it may have been deleted).',
  CERTIFICATE_ID_TAKEN: () => 'Another device already has this certificate ID.',
  CERTIFICATE_ID_INVALID: () => 'A certificate ID is 1 to 64 characters: letters, digits, and . _ : - (not first).',
  // Keys and the server
  API_KEY_INVALID: () => 'The server does not accept this API key. It may be mistyped or revoked.',
  API_KEY_MISSING: () => 'Enter an API key.',
  VALIDATION_FAILED: (p) => `The server refused the input: ${p.detail}`,
  INTERNAL_ERROR: (p) => `The server failed to handle this request. It logged the failure${fact(p, 'requestId') ? ` under request ID ${fact(p, 'requestId')}` : ''}.`,
  SERVER_UNREACHABLE: () => 'The server cannot be reached. Is fleetpki serve running?',
};

/** One sentence for a failure, whatever threw it. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) return describeProblem(error.problem);
  return error instanceof Error ? error.message : String(error);
}

export function describeProblem(problem: Problem): string {
  const sentence = PROBLEM_SENTENCES[problem.code];
  return sentence ? sentence(problem) : problem.detail || `The server answered ${problem.status} ${problem.code}.`;
}

/** Why the gateway refused a device, per refusal code (docs/devices/https-and-mqtt.md). */
const REFUSAL_SENTENCES: Readonly<Record<string, string>> = {
  UNKNOWN_ISSUER: 'The device’s certificate was not signed by any enabled CA certificate of this project.',
  UNKNOWN_PROJECT: 'The certificate’s organization (O) names no project on this server.',
  SUBJECT_O_MISSING: 'The certificate’s subject has no organization (O); it must be the project slug.',
  SUBJECT_MULTIVALUED_RDN: 'The certificate’s subject joins its O or CN with another attribute in one name component (a multi-valued RDN such as O=acme+CN=dev-1); O and CN must each stand alone.',
  SUBJECT_O_MULTIPLE: 'The certificate’s subject has more than one organization (O); it must have exactly one, the project slug.',
  SUBJECT_O_MISMATCH: 'The certificate’s organization (O) is not this project’s slug.',
  SUBJECT_CN_MISSING: 'The certificate’s subject has no common name (CN); it must be the device’s certificate ID.',
  SUBJECT_CN_MULTIPLE: 'The certificate’s subject has more than one common name (CN).',
  INVALID_CERTIFICATE_ID: 'The certificate’s common name (CN) is not a valid certificate ID (1–64 letters, digits, . _ : -).',
  INVALID_PROJECT_SLUG: 'The certificate’s organization (O) is not a valid project slug.',
  CERT_EXPIRED: 'The device’s certificate, or a CA certificate above it, has expired.',
  CERT_NOT_YET_VALID: 'The device’s certificate is not valid yet; check the clock of the machine that issued it.',
  CA_DISABLED: 'The device’s certificate chains to a CA certificate that is disabled in this project.',
  DEVICE_DISABLED: 'The device is disabled in this project, so its connections are refused.',
  WEAK_KEY: 'The device’s key is too weak (for example RSA under 2048 bits).',
  NO_CLIENT_CERTIFICATE: 'The client connected without presenting a certificate.',
  KEY_POSSESSION_NOT_PROVEN: 'The client presented a certificate but could not prove it holds its private key (a copied certificate without its key).',
  TLS_HANDSHAKE_FAILED: 'The TLS handshake failed after the client sent its certificate.',
  CERT_UNPARSABLE: 'The client certificate could not be read.',
  CERT_SIGNATURE_INVALID: 'A signature in the device’s certificate chain does not verify.',
  DEVICE_CERT_IS_CA: 'The device presented a CA certificate as its own; a device certificate must say CA:FALSE.',
  EKU_CLIENT_AUTH_MISSING: 'The device’s certificate limits its use (extended key usage) and does not allow TLS client authentication.',
  EKU_NOT_ALLOWED: 'The certificate’s extended key usage does not allow TLS client authentication.',
  NOT_A_CA: 'A certificate in the chain that signs another is not a CA.',
  PATH_LEN_EXCEEDED: 'The chain is longer than a CA certificate’s path length constraint allows.',
  CHAIN_TOO_LONG: 'The certificate chain is too long.',
  VALIDATION_BUDGET_EXHAUSTED: 'The certificate chain took too much work to check (a pool of look-alike issuers?).',
  NAME_CONSTRAINT_VIOLATION: 'The device’s names are outside what a CA certificate above it may issue (name constraints).',
  UNKNOWN_CRITICAL_EXTENSION: 'A certificate in the chain has a critical extension the platform does not understand.',
  CERT_REVOKED: 'The device’s certificate has been revoked.',
  UNSUPPORTED_ALGORITHM: 'The certificate uses an algorithm the platform does not accept (SHA-1 signatures, for example).',
  POLICY_VIOLATION: 'The chain does not satisfy its certificate policies.',
};

export function explainRefusal(code: string | undefined): string {
  if (!code) return 'The device was refused.';
  return REFUSAL_SENTENCES[code] ?? `The device was refused (${code}).`;
}

/** Each audited action as a phrase, for the audit table. */
export const ACTION_LABELS: Readonly<Record<string, string>> = {
  'project.create': 'Project created',
  'project.update': 'Project renamed',
  'project.delete': 'Project deleted',
  'certificate.upload': 'CA certificate added',
  'certificate.enable': 'CA certificate enabled',
  'certificate.disable': 'CA certificate disabled',
  'certificate.delete': 'CA certificate deleted',
  'device.create': 'Device created',
  'device.update': 'Device changed',
  'device.delete': 'Device deleted',
  'device.authenticate': 'Device authenticated',
  'device.authentication-failed': 'Device refused',
  'api-key.create': 'API key created',
  'api-key.revoke': 'API key revoked',
  'audit.events-dropped': 'Audit events dropped',
};

export const REFUSAL_ACTIONS = ['device.authentication-failed'];
export const AUTHENTICATION_ACTIONS = ['device.authenticate'];
export const CHANGE_ACTIONS = Object.keys(ACTION_LABELS).filter((a) => !a.startsWith('device.authenticat'));
