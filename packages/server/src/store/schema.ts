import type { Generated, Selectable } from 'kysely';

/**
 * The one schema both dialects share (DESIGN §7). Timestamps are ISO-8601 UTC strings with
 * milliseconds (sortable as text in both), booleans are 0/1 integers, DER is a blob/bytea.
 */
export interface Database {
  projects: ProjectsTable;
  ca_certificates: CaCertificatesTable;
  devices: DevicesTable;
  api_keys: ApiKeysTable;
  audit_events: AuditEventsTable;
  platform_settings: PlatformSettingsTable;
  managed_cas: ManagedCasTable;
  issued_certificates: IssuedCertificatesTable;
  enrollment_tokens: EnrollmentTokensTable;
  enrollment_claims: EnrollmentClaimsTable;
  cmp_transactions: CmpTransactionsTable;
  device_credentials: DeviceCredentialsTable;
  device_certificates: DeviceCertificatesTable;
  revocations: RevocationsTable;
  ca_crls: CaCrlsTable;
  webhooks: WebhooksTable;
  webhook_outbox: WebhookOutboxTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_attempts: WebhookAttemptsTable;
  token_signing_keys: TokenSigningKeysTable;
  managed_ca_crls: ManagedCaCrlsTable;
  crl_fetches: CrlFetchesTable;
  renewal_requests: RenewalRequestsTable;
  scheduler_leases: SchedulerLeasesTable;
}

/** A device's pre-shared key for CoAP/DTLS (migration 0005); the key is sealed (platform/master-key.ts). */
export interface DeviceCredentialsTable {
  id: string;
  project_id: string;
  device_id: string;
  type: 'PRE_SHARED_KEY';
  identity: string;
  secret_sealed: string;
  created_at: string;
}

export interface ProjectsTable {
  id: string;
  slug: string;
  name: string;
  created_at: string;
  updated_at: string;
  /** Bumped with every change to the project's CA certificates (migration 0002). */
  ca_generation: Generated<number>;
  /** Bumped with every change that may end a device's right to stay connected. */
  auth_generation: Generated<number>;
  /** Bumped with every revocation (migration 0007): servers reload the project's revocation set. */
  revocation_generation: Generated<number>;
  /** DESIGN §8 settings as JSON; defaults are filled in when read (domain/management/project-settings.ts). */
  settings: Generated<string>;
}

export interface CaCertificatesTable {
  id: string;
  project_id: string;
  cert_type: 'root' | 'intermediate';
  enabled: number;
  der: Buffer;
  fingerprint_sha256: string;
  subject: string;
  not_after: string;
  /** certificateContent as JSON, computed once at upload. */
  content: string;
  created_at: string;
  updated_at: string;
  /** `device`: a trust anchor for connecting; `manufacturer`: vouches for factory certificates at EST enrollment only (migration 0003). */
  purpose: 'device' | 'manufacturer';
  /** Where its CRL is fetched from (migration 0007; set by an admin). */
  crl_url: string | null;
  /** The smallest expiryAlertDays threshold reported for it, 0 once its expiry was (migration 0009). */
  expiry_reported_days?: number | null;
}

/** One CRL URL's fetch state, shared by the servers on a store (migration 0007). */
export interface CrlFetchesTable {
  url: string;
  /** A server fetching it holds it until then: at most one fetch per URL per lease, across the cluster. */
  leased_until: string | null;
  next_attempt_at: string;
  failures: number;
  last_error: string | null;
}

export interface DevicesTable {
  id: string;
  project_id: string;
  name: string;
  certificate_id: string | null;
  enabled: number;
  provisioning: string;
  created_at: string;
  updated_at: string;
  last_seen_at: string | null;
}

export interface ApiKeysTable {
  id: string;
  /** null for the admin key, which spans projects. */
  project_id: string | null;
  name: string;
  /** SHA-256 of the key, hex: the key itself is never stored. */
  key_hash: string;
  /** The key's first characters, so people can tell keys apart in a list. */
  key_prefix: string;
  created_at: string;
  revoked_at: string | null;
  /** JSON array of scope names (migration 0011); null for a management key (scope `api`). */
  scopes: string | null;
}

export interface AuditEventsTable {
  id: Generated<number>;
  /** Kept after the project is deleted, so its history stays readable by the admin. */
  project_id: string | null;
  actor: string;
  action: string;
  target_type: string;
  target_id: string;
  details: string;
  created_at: string;
}

export interface PlatformSettingsTable {
  name: string;
  value: string;
}

/** An issuing CA the platform runs for a project (migration 0003). */
export interface ManagedCasTable {
  id: string;
  project_id: string;
  /** `pending` while a `csr` mode CA waits for its signed certificate. */
  status: 'pending' | 'active';
  mode: 'generate' | 'csr' | 'cfssl';
  /** Where the key is: sealed under the master key, in a PKCS#11 token, or at a remote signer. */
  key_storage: 'sealed' | 'pkcs11' | 'remote';
  /** AES-256-GCM sealed PKCS#8 DER (see ca-key-vault.ts); null unless key_storage is `sealed`. */
  sealed_key: Buffer | null;
  pkcs11_label: string | null;
  remote_url: string | null;
  remote_profile: string | null;
  csr_der: Buffer | null;
  certificate_der: Buffer | null;
  /** Certificates above the issuing one (its root), PEM. */
  chain_pem: string | null;
  /** The project CA certificate (trust anchor) this CA's certificate was registered as. */
  ca_certificate_id: string | null;
  default_days: number;
  max_days: number;
  /** JSON array of the key types devices may have certified. */
  key_types: string;
  created_at: string;
  updated_at: string;
  activated_at: string | null;
}

export interface IssuedCertificatesTable {
  id: string;
  project_id: string;
  managed_ca_id: string;
  /** Hex, as `openssl x509 -serial` prints it. */
  serial: string;
  fingerprint_sha256: string;
  certificate_id: string;
  device_id: string | null;
  /** api | rotation | est-enroll | est-reenroll */
  channel: string;
  not_after: string;
  created_at: string;
}

/** One device certificate the platform accepted at an authentication or issued (DESIGN §8, migration 0007). */
export interface DeviceCertificatesTable {
  project_id: string;
  fingerprint_sha256: string;
  /** Upper-case hex without leading zeros: the serial as a number, as `openssl x509 -serial` prints it. */
  serial_number: string;
  issuer: string;
  subject: string;
  not_before: string;
  not_after: string;
  /** The project CA certificate the validated path ends at. */
  ca_id: string | null;
  /** The project CA certificate that signed this one, when the project holds it (revocation by serial names it). */
  issuer_ca_id: string | null;
  device_id: string | null;
  source: 'seen' | 'issued';
  status: 'active' | 'superseded' | 'revoked';
  revoked_at: string | null;
  revocation_reason: string | null;
  superseded_at: string | null;
  first_seen_at: string | null;
  last_seen_at: string | null;
  /** For an issued certificate, when (ms precision; migration 0008): its notBefore has whole seconds only. */
  issued_at?: string | null;
  /** The smallest expiryAlertDays threshold reported for it, 0 once its expiry was (migration 0009). */
  expiry_reported_days?: number | null;
}

/** A lease on time-driven work one server at a time does (migration 0009). */
export interface SchedulerLeasesTable {
  name: string;
  holder: string | null;
  leased_until: string;
}

/** A forced renewal (`POST …/renewals`, migration 0008): of one device, or of every device under a CA certificate. */
export interface RenewalRequestsTable {
  id: string;
  project_id: string;
  device_id: string | null;
  ca_id: string | null;
  requested_at: string;
  actor: string;
}

/** A revoked certificate (migration 0007): by fingerprint, or by the serial a project CA gave it. */
export interface RevocationsTable {
  id: string;
  project_id: string;
  fingerprint_sha256: string | null;
  ca_id: string | null;
  serial_number: string | null;
  /** An RFC 5280 §5.3.1 reason name. */
  reason: string;
  revoked_at: string;
  actor: string;
}

/** The CRL in force for an uploaded CA certificate (migration 0007). */
export interface CaCrlsTable {
  project_id: string;
  ca_id: string;
  der: Buffer;
  /** cRLNumber in decimal (it may be 20 octets: more than a JavaScript number holds). */
  crl_number: string;
  this_update: string;
  next_update: string | null;
  entry_count: number;
  uploaded_at: string;
  /** When one server reported it past its nextUpdate (audit, connections re-checked); null while current. */
  stale_reported_at: string | null;
}

/** The CRL a managed CA publishes (migration 0007). */
export interface ManagedCaCrlsTable {
  ca_id: string;
  project_id: string;
  /** Zero-padded decimal (49 digits): text order is number order. */
  crl_number: string;
  der: Buffer;
  this_update: string;
  next_update: string;
  /** The project's revocation_generation the CRL was signed under. */
  revocation_generation: number;
}

/** A certificate ID taken by a batch-token enrollment (migration 0006): one per project and ID. */
export interface EnrollmentClaimsTable {
  project_id: string;
  certificate_id: string;
  token_id: string;
  created_at: string;
}

export interface EnrollmentTokensTable {
  id: string;
  project_id: string;
  /** SHA-256 of the token, hex: EST's Basic password is looked up by it. */
  token_hash: string;
  /**
   * The token sealed under the master key (migration 0012), for CMP's MAC (RFC 9483 §3.2),
   * which needs the shared secret itself; NULL for tokens made before CMP.
   */
  secret_sealed: string | null;
  /** Set for a token made for one device: the certificate is issued to that device's identity. */
  device_id: string | null;
  certificate_id: string | null;
  batch_id: string | null;
  expires_at: string;
  used_at: string | null;
  created_at: string;
}

/** A project as read from the store (generated columns resolved). */
export type ProjectRow = Selectable<ProjectsTable>;

/** A project's webhook endpoint (migration 0011). */
export interface WebhooksTable {
  id: string;
  project_id: string;
  url: string;
  /** JSON array of event type names. */
  events: string;
  /** The `whsec_…` signing secret, sealed under the master key. */
  secret_sealed: string;
  created_at: string;
  actor: string;
}

/** An audit event of a project with webhooks, not yet turned into deliveries (written by a trigger). */
export interface WebhookOutboxTable {
  id: Generated<number>;
  audit_event_id: number;
}

/** One event for one endpoint (migration 0011). */
export interface WebhookDeliveriesTable {
  id: Generated<number>;
  webhook_id: string;
  project_id: string;
  /** Standard Webhooks' `webhook-id`: the same on every attempt, so receivers can deduplicate. */
  message_id: string;
  event_type: string;
  /** Deliveries with one key go out in id order (a device's events). */
  ordering_key: string;
  /** The JSON body sent. */
  payload: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  created_at: string;
  next_attempt_at: string;
  /** When the first attempt was made: retries stop 24 h after it. */
  first_attempt_at: string | null;
  last_attempt_at: string | null;
  finished_at: string | null;
}

/** One attempt at a delivery and the endpoint's answer (migration 0011). */
export interface WebhookAttemptsTable {
  id: Generated<number>;
  delivery_id: number;
  attempted_at: string;
  duration_ms: number;
  status_code: number | null;
  /** Why the attempt failed short of an HTTP answer (timeout, refused target …). */
  error_code: string | null;
  /** The answer's first bytes. */
  response: string | null;
}

/** An ES256 key that signs device tokens (migration 0011). */
export interface TokenSigningKeysTable {
  kid: string;
  /** 1 for the first key, then one more per rotation (unique: the claim that keeps servers from racing). */
  sequence: number;
  /** PKCS#8 PEM, sealed under the master key. */
  private_key_sealed: string;
  /** The public JWK as published in the JWKS. */
  public_jwk: string;
  created_at: string;
  activates_at: string;
  superseded_at: string | null;
  retires_at: string | null;
}

/** One CMP transaction (migration 0012): its ID is used once per project; an issued certificate waits here for certConf. */
export interface CmpTransactionsTable {
  project_id: string;
  /** The transactionID, hex. */
  transaction_id: string;
  /** `token:{id}` for a MAC-protected request, `certificate:{sha256}` for one a device's certificate signed. */
  requester: string;
  /** ir, cr, p10cr, kur, rr. */
  request_type: string;
  /** `awaiting-confirmation` until certConf; then `confirmed` or `rejected`; `revoked` when the window passed. */
  state: string;
  certificate_fingerprint: string | null;
  /** The issued certificate, base64 DER, for certConf's certHash. */
  certificate_der: string | null;
  created_at: string;
  /** When an unconfirmed certificate is revoked (RFC 9483 §4.1.1: the client confirms, or it does not keep the certificate). */
  confirm_by: string | null;
}
