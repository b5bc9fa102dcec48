import { sql, type Kysely, type Migration } from 'kysely';
import type { StoreDialect } from './dialect.js';

/**
 * Versioned migrations, applied in name order on every start (Kysely's Migrator keeps the
 * ledger and a lock, so two servers starting together on one PostgreSQL do not race). Never
 * edit a migration that has shipped; add the next one.
 */
export function migrations(dialect: StoreDialect): Record<string, Migration> {
  const blob = dialect === 'postgres' ? 'bytea' : 'blob';
  return {
    '0001-initial': {
      async up(db: Kysely<unknown>): Promise<void> {
        await db.schema
          .createTable('projects')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('slug', 'text', (c) => c.notNull().unique())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('ca_certificates')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id').onDelete('cascade'))
          .addColumn('cert_type', 'text', (c) => c.notNull())
          .addColumn('enabled', 'integer', (c) => c.notNull())
          .addColumn('der', sql.raw(blob), (c) => c.notNull())
          .addColumn('fingerprint_sha256', 'text', (c) => c.notNull())
          .addColumn('subject', 'text', (c) => c.notNull())
          .addColumn('not_after', 'text', (c) => c.notNull())
          .addColumn('content', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .addUniqueConstraint('ca_certificates_project_fingerprint', ['project_id', 'fingerprint_sha256'])
          .execute();
        await db.schema
          .createTable('devices')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id').onDelete('cascade'))
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('certificate_id', 'text')
          .addColumn('enabled', 'integer', (c) => c.notNull())
          .addColumn('provisioning', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .addColumn('last_seen_at', 'text')
          .addUniqueConstraint('devices_project_name', ['project_id', 'name'])
          // NULLs are distinct in both dialects: many devices may wait for their first certificate.
          .addUniqueConstraint('devices_project_certificate_id', ['project_id', 'certificate_id'])
          .execute();
        await db.schema
          .createTable('api_keys')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('project_id', 'text', (c) => c.references('projects.id').onDelete('cascade'))
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('key_hash', 'text', (c) => c.notNull().unique())
          .addColumn('key_prefix', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('revoked_at', 'text')
          .execute();
        await db.schema
          .createTable('audit_events')
          .addColumn('id', dialect === 'postgres' ? 'bigserial' : 'integer', (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
          .addColumn('project_id', 'text')
          .addColumn('actor', 'text', (c) => c.notNull())
          .addColumn('action', 'text', (c) => c.notNull())
          .addColumn('target_type', 'text', (c) => c.notNull())
          .addColumn('target_id', 'text', (c) => c.notNull())
          .addColumn('details', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('audit_events_project').on('audit_events').columns(['project_id', 'id']).execute();
        await db.schema
          .createTable('platform_settings')
          .addColumn('name', 'text', (c) => c.primaryKey())
          .addColumn('value', 'text', (c) => c.notNull())
          .execute();
      },
    },
    '0002-project-generations': {
      // Counters bumped in the same transaction as the change they announce, so every server
      // sharing the store sees a change with one cheap read: ca_generation invalidates the
      // parsed trust anchors of a project, auth_generation makes live connections re-checked.
      async up(db: Kysely<unknown>): Promise<void> {
        await db.schema.alterTable('projects').addColumn('ca_generation', 'integer', (c) => c.notNull().defaultTo(0)).execute();
        await db.schema.alterTable('projects').addColumn('auth_generation', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      },
    },
    '0003-audit-target-index': {
      // The console's device page reads one target's events (`GET …/audit?targetId=`).
      async up(db: Kysely<unknown>): Promise<void> {
        await db.schema.createIndex('audit_events_target').on('audit_events').columns(['target_id', 'id']).execute();
      },
    },
    '0004-integrated-pki': {
      // Managed issuing CAs (keys sealed under the master key, or in a PKCS#11 token, or at a
      // remote signer), every certificate they issue, and one-time EST enrollment tokens.
      async up(db: Kysely<unknown>): Promise<void> {
        await db.schema
          .createTable('managed_cas')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id').onDelete('cascade'))
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('mode', 'text', (c) => c.notNull())
          .addColumn('key_storage', 'text', (c) => c.notNull())
          .addColumn('sealed_key', sql.raw(blob))
          .addColumn('pkcs11_label', 'text')
          .addColumn('remote_url', 'text')
          .addColumn('remote_profile', 'text')
          .addColumn('csr_der', sql.raw(blob))
          .addColumn('certificate_der', sql.raw(blob))
          .addColumn('chain_pem', 'text')
          .addColumn('ca_certificate_id', 'text')
          .addColumn('default_days', 'integer', (c) => c.notNull())
          .addColumn('max_days', 'integer', (c) => c.notNull())
          .addColumn('key_types', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .addColumn('activated_at', 'text')
          .execute();
        // A manufacturer CA vouches for devices' factory identities (IDevIDs) at EST enrollment
        // only; it is never a trust anchor for connecting.
        await db.schema.alterTable('ca_certificates').addColumn('purpose', 'text', (c) => c.notNull().defaultTo('device')).execute();
        await db.schema.createIndex('managed_cas_project').on('managed_cas').columns(['project_id', 'status', 'activated_at']).execute();
        await db.schema
          .createTable('issued_certificates')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id').onDelete('cascade'))
          .addColumn('managed_ca_id', 'text', (c) => c.notNull())
          .addColumn('serial', 'text', (c) => c.notNull())
          .addColumn('fingerprint_sha256', 'text', (c) => c.notNull())
          .addColumn('certificate_id', 'text', (c) => c.notNull())
          .addColumn('device_id', 'text')
          .addColumn('channel', 'text', (c) => c.notNull())
          .addColumn('not_after', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addUniqueConstraint('issued_certificates_fingerprint', ['project_id', 'fingerprint_sha256'])
          .execute();
        await db.schema.createIndex('issued_certificates_project').on('issued_certificates').columns(['project_id', 'certificate_id']).execute();
        await db.schema
          .createTable('enrollment_tokens')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id').onDelete('cascade'))
          .addColumn('token_hash', 'text', (c) => c.notNull().unique())
          .addColumn('device_id', 'text')
          .addColumn('certificate_id', 'text')
          .addColumn('batch_id', 'text')
          .addColumn('expires_at', 'text', (c) => c.notNull())
          .addColumn('used_at', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
      },
    },
    '0005-device-credentials': {
      // Pre-shared keys for CoAP/DTLS (DESIGN §5), sealed with the master key. The identity is
      // unique across the platform: a DTLS ClientKeyExchange names only the identity.
      async up(db: Kysely<unknown>): Promise<void> {
        await db.schema
          .createTable('device_credentials')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id').onDelete('cascade'))
          .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id').onDelete('cascade'))
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('identity', 'text', (c) => c.notNull().unique())
          .addColumn('secret_sealed', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('device_credentials_device').on('device_credentials').columns(['device_id']).execute();
      },
    },
    '0006-enrollment-claims': {
      // A batch enrollment token names its certificate ID in the CSR: the claim row, unique per
      // project and ID, settles two enrollments racing for one new ID (READ COMMITTED lets both
      // see it free) — the second insert fails on the key and is refused.
      async up(db: Kysely<unknown>): Promise<void> {
        await db.schema
          .createTable('enrollment_claims')
          .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id').onDelete('cascade'))
          .addColumn('certificate_id', 'text', (c) => c.notNull())
          .addColumn('token_id', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('enrollment_claims_pk', ['project_id', 'certificate_id'])
          .execute();
      },
    },
    '0007-device-certificates-and-revocations': {
      // DESIGN §8: one inventory row per device certificate the platform accepted or issued, and
      // the project's revocations — by certificate (fingerprint) or by a CA's serial, which may
      // name a certificate never seen (a factory manifest). revocation_generation tells every
      // server sharing the store to reload the project's revocation set.
      async up(db: Kysely<unknown>): Promise<void> {
        await db.schema.alterTable('projects').addColumn('revocation_generation', 'integer', (c) => c.notNull().defaultTo(0)).execute();
        // DESIGN §8 project settings, as JSON (defaults filled in when read: project-settings.ts).
        await db.schema.alterTable('projects').addColumn('settings', 'text', (c) => c.notNull().defaultTo('{}')).execute();
        await db.schema
          .createTable('device_certificates')
          .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id').onDelete('cascade'))
          .addColumn('fingerprint_sha256', 'text', (c) => c.notNull())
          .addColumn('serial_number', 'text', (c) => c.notNull())
          .addColumn('issuer', 'text', (c) => c.notNull())
          .addColumn('subject', 'text', (c) => c.notNull())
          .addColumn('not_before', 'text', (c) => c.notNull())
          .addColumn('not_after', 'text', (c) => c.notNull())
          .addColumn('ca_id', 'text')
          .addColumn('issuer_ca_id', 'text')
          .addColumn('device_id', 'text')
          .addColumn('source', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('revoked_at', 'text')
          .addColumn('revocation_reason', 'text')
          .addColumn('superseded_at', 'text')
          .addColumn('first_seen_at', 'text')
          .addColumn('last_seen_at', 'text')
          .addPrimaryKeyConstraint('device_certificates_pk', ['project_id', 'fingerprint_sha256'])
          .execute();
        await db.schema.createIndex('device_certificates_device').on('device_certificates').columns(['project_id', 'device_id']).execute();
        await db.schema.createIndex('device_certificates_expiry').on('device_certificates').columns(['project_id', 'not_after']).execute();
        await db.schema.createIndex('device_certificates_serial').on('device_certificates').columns(['project_id', 'issuer_ca_id', 'serial_number']).execute();
        await db.schema
          .createTable('revocations')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id').onDelete('cascade'))
          .addColumn('fingerprint_sha256', 'text')
          .addColumn('ca_id', 'text')
          .addColumn('serial_number', 'text')
          .addColumn('reason', 'text', (c) => c.notNull())
          .addColumn('revoked_at', 'text', (c) => c.notNull())
          .addColumn('actor', 'text', (c) => c.notNull())
          .addUniqueConstraint('revocations_fingerprint', ['project_id', 'fingerprint_sha256'])
          .addUniqueConstraint('revocations_serial', ['project_id', 'ca_id', 'serial_number'])
          .execute();
        await db.schema.createIndex('revocations_listing').on('revocations').columns(['project_id', 'revoked_at']).execute();
        // Where a CA certificate's CRL is fetched from, and the cluster's lease and backoff per URL.
        await db.schema.alterTable('ca_certificates').addColumn('crl_url', 'text').execute();
        await db.schema
          .createTable('crl_fetches')
          .addColumn('url', 'text', (c) => c.primaryKey())
          .addColumn('leased_until', 'text')
          .addColumn('next_attempt_at', 'text', (c) => c.notNull())
          .addColumn('failures', 'integer', (c) => c.notNull())
          .addColumn('last_error', 'text')
          .execute();
        // The CRL in force for an uploaded CA certificate: its entries are revocations too.
        await db.schema
          .createTable('ca_crls')
          .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id').onDelete('cascade'))
          .addColumn('ca_id', 'text', (c) => c.notNull().references('ca_certificates.id').onDelete('cascade'))
          .addColumn('der', sql.raw(blob), (c) => c.notNull())
          .addColumn('crl_number', 'text', (c) => c.notNull())
          .addColumn('this_update', 'text', (c) => c.notNull())
          .addColumn('next_update', 'text')
          .addColumn('entry_count', 'integer', (c) => c.notNull())
          .addColumn('uploaded_at', 'text', (c) => c.notNull())
          .addColumn('stale_reported_at', 'text')
          .addPrimaryKeyConstraint('ca_crls_pk', ['project_id', 'ca_id'])
          .execute();
        // OCSP asks a managed CA about a serial: one probe.
        await db.schema.createIndex('issued_certificates_serial').on('issued_certificates').columns(['managed_ca_id', 'serial']).execute();
        // The CRL each managed CA publishes, re-signed when the project's revocations change or
        // half its validity has passed; its number only grows, across servers.
        await db.schema
          .createTable('managed_ca_crls')
          .addColumn('ca_id', 'text', (c) => c.primaryKey().references('managed_cas.id').onDelete('cascade'))
          .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id').onDelete('cascade'))
          .addColumn('crl_number', 'text', (c) => c.notNull())
          .addColumn('der', sql.raw(blob), (c) => c.notNull())
          .addColumn('this_update', 'text', (c) => c.notNull())
          .addColumn('next_update', 'text', (c) => c.notNull())
          .addColumn('revocation_generation', 'integer', (c) => c.notNull())
          .execute();
      },
    },
    '0008-certificate-lifecycle': {
      async up(db: Kysely<unknown>) {
        // Forced renewal ("renew now"), of a device or of every device under a CA certificate: the
        // certificates issued before the request are told to renew from then (renewal-window.ts).
        await db.schema
          .createTable('renewal_requests')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id').onDelete('cascade'))
          .addColumn('device_id', 'text')
          .addColumn('ca_id', 'text')
          .addColumn('requested_at', 'text', (c) => c.notNull())
          .addColumn('actor', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('renewal_requests_project').on('renewal_requests').columns(['project_id', 'requested_at']).execute();
        // When the platform issued a certificate (ms): which of two issued in the same second is newer.
        await db.schema.alterTable('device_certificates').addColumn('issued_at', 'text').execute();
        // The revocation set reads a project's superseded certificates: one range of an index.
        await db.schema.createIndex('device_certificates_status').on('device_certificates').columns(['project_id', 'status']).execute();
      },
    },
    '0009-expiry-alerts': {
      async up(db: Kysely<unknown>) {
        // The smallest expiryAlertDays threshold already reported for a certificate (0: its
        // expiry): a threshold is reported once, by whichever server moves this down first.
        await db.schema.alterTable('device_certificates').addColumn('expiry_reported_days', 'integer').execute();
        await db.schema.alterTable('ca_certificates').addColumn('expiry_reported_days', 'integer').execute();
        // Time-driven work that one server at a time does (DESIGN §8): who holds it, until when.
        await db.schema
          .createTable('scheduler_leases')
          .addColumn('name', 'text', (c) => c.primaryKey())
          .addColumn('holder', 'text')
          .addColumn('leased_until', 'text', (c) => c.notNull())
          .execute();
      },
    },
    '0010-list-indexes': {
      async up(db: Kysely<unknown>) {
        // Keyset paging (issue 19, 1): each list's filter columns, then its order, so a page is
        // one index range however deep it starts.
        await db.schema.createIndex('devices_project_created').on('devices').columns(['project_id', 'created_at', 'id']).execute();
        await db.schema.createIndex('devices_project_enabled').on('devices').columns(['project_id', 'enabled', 'created_at', 'id']).execute();
        await db.schema.createIndex('devices_project_last_seen').on('devices').columns(['project_id', 'last_seen_at', 'id']).execute();
        // Name prefix search compares bytes whatever the database's collation: SQLite's BINARY,
        // and on PostgreSQL a collation of that name made from "C", so one query serves both.
        if (dialect === 'postgres') {
          await sql`CREATE COLLATION IF NOT EXISTS "binary" FROM "C"`.execute(db);
          await sql`CREATE INDEX devices_project_name_bytes ON devices (project_id, name COLLATE "binary")`.execute(db);
        }
        // (SQLite compares text as BINARY already: its unique (project_id, name) index serves the range.)
        await db.schema.createIndex('ca_certificates_project_created').on('ca_certificates').columns(['project_id', 'created_at', 'id']).execute();
        await db.schema.createIndex('api_keys_project_created').on('api_keys').columns(['project_id', 'created_at', 'id']).execute();
        await db.schema.createIndex('device_credentials_device_created').on('device_credentials').columns(['device_id', 'created_at', 'id']).execute();
        await db.schema.createIndex('managed_cas_project_created').on('managed_cas').columns(['project_id', 'created_at', 'id']).execute();
        await db.schema.createIndex('revocations_project_revoked').on('revocations').columns(['project_id', 'revoked_at', 'id']).execute();
      },
    },
    '0011-integration': {
      async up(db: Kysely<unknown>) {
        // Issue 20. API keys may carry scopes (a JSON array of names); NULL is a management key, as before.
        await db.schema.alterTable('api_keys').addColumn('scopes', 'text').execute();
        // A project's webhook endpoints: where its events go, which ones, signed with a secret kept sealed.
        await db.schema
          .createTable('webhooks')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id').onDelete('cascade'))
          .addColumn('url', 'text', (c) => c.notNull())
          .addColumn('events', 'text', (c) => c.notNull())
          .addColumn('secret_sealed', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('actor', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('webhooks_project').on('webhooks').columns(['project_id', 'created_at', 'id']).execute();
        // The outbox: a row per audit event of a project that has webhooks, written by a trigger in
        // the audit event's own transaction, so whatever path records an event, a crash right after
        // its commit loses no delivery. The dispatcher turns rows into deliveries and deletes them.
        const serial = dialect === 'postgres' ? 'bigserial' : 'integer';
        await db.schema
          .createTable('webhook_outbox')
          .addColumn('id', serial, (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
          .addColumn('audit_event_id', dialect === 'postgres' ? 'bigint' : 'integer', (c) => c.notNull())
          .execute();
        if (dialect === 'postgres') {
          await sql`CREATE FUNCTION audit_events_webhook_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              -- A known device authenticating again (every handshake, the hot path) is no event;
              -- one that was created or associated by its connection is.
              IF NEW.project_id IS NOT NULL
                AND (NEW.action <> 'device.authenticate' OR strpos(NEW.details, '"provisioning":"created"') > 0 OR strpos(NEW.details, '"provisioning":"associated"') > 0)
                AND EXISTS (SELECT 1 FROM webhooks WHERE project_id = NEW.project_id) THEN
                INSERT INTO webhook_outbox (audit_event_id) VALUES (NEW.id);
              END IF;
              RETURN NULL;
            END $$`.execute(db);
          await sql`CREATE TRIGGER audit_events_webhook_outbox AFTER INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_events_webhook_outbox()`.execute(db);
        } else {
          await sql`CREATE TRIGGER audit_events_webhook_outbox AFTER INSERT ON audit_events
            WHEN NEW.project_id IS NOT NULL
              AND (NEW.action <> 'device.authenticate' OR instr(NEW.details, '"provisioning":"created"') > 0 OR instr(NEW.details, '"provisioning":"associated"') > 0)
              AND EXISTS (SELECT 1 FROM webhooks WHERE project_id = NEW.project_id)
            BEGIN INSERT INTO webhook_outbox (audit_event_id) VALUES (NEW.id); END`.execute(db);
        }
        // One delivery per event and endpoint; its id orders a device's events.
        await db.schema
          .createTable('webhook_deliveries')
          .addColumn('id', serial, (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
          .addColumn('webhook_id', 'text', (c) => c.notNull().references('webhooks.id').onDelete('cascade'))
          .addColumn('project_id', 'text', (c) => c.notNull())
          .addColumn('message_id', 'text', (c) => c.notNull())
          .addColumn('event_type', 'text', (c) => c.notNull())
          .addColumn('ordering_key', 'text', (c) => c.notNull())
          .addColumn('payload', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('attempts', 'integer', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('next_attempt_at', 'text', (c) => c.notNull())
          .addColumn('first_attempt_at', 'text')
          .addColumn('last_attempt_at', 'text')
          .addColumn('finished_at', 'text')
          .execute();
        await db.schema.createIndex('webhook_deliveries_due').on('webhook_deliveries').columns(['status', 'next_attempt_at', 'id']).execute();
        await db.schema.createIndex('webhook_deliveries_webhook').on('webhook_deliveries').columns(['webhook_id', 'id']).execute();
        // The head of an ordering key (its oldest pending delivery), which alone may be sent.
        await db.schema.createIndex('webhook_deliveries_key').on('webhook_deliveries').columns(['webhook_id', 'ordering_key', 'status', 'id']).execute();
        // Every attempt and what the endpoint answered (bounded), for GET …/webhooks/{id}/deliveries.
        await db.schema
          .createTable('webhook_attempts')
          .addColumn('id', serial, (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
          .addColumn('delivery_id', dialect === 'postgres' ? 'bigint' : 'integer', (c) => c.notNull().references('webhook_deliveries.id').onDelete('cascade'))
          .addColumn('attempted_at', 'text', (c) => c.notNull())
          .addColumn('duration_ms', 'integer', (c) => c.notNull())
          .addColumn('status_code', 'integer')
          .addColumn('error_code', 'text')
          .addColumn('response', 'text')
          .execute();
        await db.schema.createIndex('webhook_attempts_delivery').on('webhook_attempts').columns(['delivery_id', 'id']).execute();
        // The platform's ES256 keys for device tokens (RFC 8705): published from created_at, signing
        // from activates_at, published until retires_at (after the last token it signed expires).
        await db.schema
          .createTable('token_signing_keys')
          .addColumn('kid', 'text', (c) => c.primaryKey())
          // Each key claims the next number: two servers making the first key (or rotating at
          // once) cannot both insert it; the loser reads the winner's key instead.
          .addColumn('sequence', 'integer', (c) => c.notNull().unique())
          .addColumn('private_key_sealed', 'text', (c) => c.notNull())
          .addColumn('public_jwk', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('activates_at', 'text', (c) => c.notNull())
          .addColumn('superseded_at', 'text')
          .addColumn('retires_at', 'text')
          .execute();
      },
    },
    '0012-cmp': {
      async up(db: Kysely<unknown>) {
        // Issue 21. CMP protects its messages with a MAC keyed by the enrollment token (RFC 9483
        // §3.2), so the server needs the token itself, not only its hash: tokens made from now on
        // keep it sealed under the master key. Older tokens (NULL) still serve EST.
        await db.schema.alterTable('enrollment_tokens').addColumn('secret_sealed', 'text').execute();
        // One row per CMP transaction (RFC 4210 §5.1.1 transactionID): a transaction ID is used
        // once per project, and a certificate waits here for the client's certConf.
        await db.schema
          .createTable('cmp_transactions')
          .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id').onDelete('cascade'))
          .addColumn('transaction_id', 'text', (c) => c.notNull())
          // Who asked: `token:{id}` (MAC) or `certificate:{sha256}` (signed by a device's certificate).
          .addColumn('requester', 'text', (c) => c.notNull())
          .addColumn('request_type', 'text', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('certificate_fingerprint', 'text')
          // The certificate as issued (base64 DER): certConf proves the client got it by its hash.
          .addColumn('certificate_der', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('confirm_by', 'text')
          .addPrimaryKeyConstraint('cmp_transactions_pk', ['project_id', 'transaction_id'])
          .execute();
        await db.schema.createIndex('cmp_transactions_unconfirmed').on('cmp_transactions').columns(['state', 'confirm_by']).execute();
      },
    },
  };
}
