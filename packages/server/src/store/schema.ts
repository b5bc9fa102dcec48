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
  device_credentials: DeviceCredentialsTable;
}

/** A device's pre-shared key for CoAP/DTLS (migration 0004); the key is sealed (platform/master-key.ts). */
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

/** A project as read from the store (generated columns resolved). */
export type ProjectRow = Selectable<ProjectsTable>;
