/**
 * What webhooks send (issue 20, DESIGN §8): the closed list of event types, and how each comes
 * from an audit event. The audit log is the one record of what happened (every path writes it in
 * the change's own transaction, and the outbox trigger copies it there), so an event is an audit
 * row seen through this table — no second place decides what counts as an event.
 */
export const WEBHOOK_EVENT_TYPES = [
  'device.created',
  'device.associated',
  'device.authentication-failed',
  'device.updated',
  'device.disabled',
  'device.enabled',
  'device.deleted',
  'device.imported',
  'device.credential-created',
  'certificate.issued',
  'certificate.revoked',
  'certificate.superseded',
  'certificate.expiring',
  'certificate.expired',
  'certificate.renewal-requested',
  'ca.uploaded',
  'ca.enabled',
  'ca.disabled',
  'ca.deleted',
  'ca.created',
  'ca.activated',
  'ca.crl-stale',
] as const;

export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** Sent by `POST …/webhooks/{id}/test` to that endpoint alone, whatever it subscribed to. */
export const TEST_EVENT_TYPE = 'webhook.test';
/** The audit action of a test send; its details name the endpoint. */
export const TEST_EVENT_ACTION = 'webhook.test';

const KNOWN = new Set<string>(WEBHOOK_EVENT_TYPES);
export function isWebhookEventType(name: string): name is WebhookEventType {
  return KNOWN.has(name);
}

/** An audit row as the dispatcher reads it. */
export interface AuditFacts {
  readonly id: number;
  readonly action: string;
  readonly targetType: string;
  readonly targetId: string;
  readonly details: Readonly<Record<string, unknown>>;
  readonly createdAt: string;
  readonly actor: string;
}

/** An event before it is addressed: its type, its `data`, and what orders it. */
export interface CatalogEvent {
  readonly type: WebhookEventType | typeof TEST_EVENT_TYPE;
  /** Without projectId (the dispatcher adds the slug). */
  readonly data: Record<string, unknown>;
  /** The device the event concerns, when one: its events go out in order. */
  readonly deviceId: string | undefined;
  /** A device certificate's fingerprint the event names (to find its device when the row does not say). */
  readonly fingerprintSha256: string | undefined;
  /** A certificate ID (the device's CN) the event names (likewise). */
  readonly certificateId: string | undefined;
  /** Only to this endpoint (test events). */
  readonly onlyWebhookId?: string | undefined;
}

const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/** Keeps the named details that are present (undefined and absent fields stay out of the payload). */
function pick(details: Readonly<Record<string, unknown>>, names: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of names) if (details[name] !== undefined) out[name] = details[name];
  return out;
}

function deviceEvent(type: WebhookEventType, row: AuditFacts, data: Record<string, unknown>): CatalogEvent {
  return { type, data: { deviceId: row.targetId, ...data }, deviceId: row.targetId, fingerprintSha256: undefined, certificateId: str(data['certificateId']) };
}

function caEvent(type: WebhookEventType, row: AuditFacts, names: readonly string[]): CatalogEvent {
  return { type, data: { caId: row.targetId, ...pick(row.details, names) }, deviceId: undefined, fingerprintSha256: undefined, certificateId: undefined };
}

/**
 * The event an audit row makes, or undefined when it makes none (API keys, projects, refusals
 * of issuance, a known device authenticating again …). Details that could be secret never reach
 * the audit log in the first place (a PSK's key, an API key); `data` copies named fields only.
 */
export function eventOfAudit(row: AuditFacts): CatalogEvent | undefined {
  const d = row.details;
  switch (row.action) {
    case 'device.create':
      return deviceEvent('device.created', row, pick(d, ['name', 'certificateId']));
    case 'device.authenticate':
      if (d['provisioning'] !== 'created' && d['provisioning'] !== 'associated') return undefined;
      return deviceEvent(d['provisioning'] === 'created' ? 'device.created' : 'device.associated', row, {
        certificateId: row.actor.startsWith('device:') ? row.actor.slice('device:'.length) : undefined,
        ...pick(d, ['provisioning', 'transport', 'fingerprintSha256']),
      });
    case 'device.authentication-failed': {
      const onDevice = row.targetType === 'device';
      const fingerprint = onDevice ? str(d['fingerprintSha256']) : row.targetId === 'none' ? undefined : row.targetId;
      return {
        type: 'device.authentication-failed',
        data: { ...(onDevice ? { deviceId: row.targetId } : {}), ...(fingerprint ? { fingerprintSha256: fingerprint } : {}), ...pick(d, ['code', 'transport', 'subject', 'remoteAddress']) },
        deviceId: onDevice ? row.targetId : undefined,
        fingerprintSha256: fingerprint,
        certificateId: row.actor.startsWith('device:') ? row.actor.slice('device:'.length) : undefined,
      };
    }
    case 'device.update': {
      const type = d['enabled'] === false ? 'device.disabled' : d['enabled'] === true ? 'device.enabled' : 'device.updated';
      return deviceEvent(type, row, pick(d, ['name', 'enabled', 'certificateId']));
    }
    case 'device.delete':
      return deviceEvent('device.deleted', row, pick(d, ['name', 'certificateId']));
    case 'device.credential-create':
      return deviceEvent('device.credential-created', row, pick(d, ['credentialId', 'type', 'identity']));
    case 'device.import':
      return { type: 'device.imported', data: pick(d, ['created', 'firstLine', 'lastLine']), deviceId: undefined, fingerprintSha256: undefined, certificateId: undefined };
    case 'pki.certificate.issue':
      return {
        type: 'certificate.issued',
        data: { fingerprintSha256: row.targetId, ...pick(d, ['certificateId', 'serialNumber', 'notAfter', 'caId', 'channel']) },
        deviceId: undefined,
        fingerprintSha256: row.targetId,
        certificateId: str(d['certificateId']),
      };
    case 'certificate.revoke': {
      const fingerprint = str(d['fingerprintSha256']);
      return {
        type: 'certificate.revoked',
        data: pick(d, ['fingerprintSha256', 'caId', 'serialNumber', 'reason']),
        deviceId: undefined,
        fingerprintSha256: fingerprint,
        certificateId: undefined,
      };
    }
    case 'certificate.superseded':
      return {
        type: 'certificate.superseded',
        data: { fingerprintSha256: row.targetId, ...pick(d, ['deviceId', 'supersededAt']) },
        deviceId: str(d['deviceId']),
        fingerprintSha256: row.targetId,
        certificateId: undefined,
      };
    case 'certificate.expiring':
    case 'certificate.expired': {
      const type = row.action === 'certificate.expiring' ? 'certificate.expiring' : 'certificate.expired';
      if (d['kind'] === 'ca') return { type, data: { kind: 'ca', caId: row.targetId, ...pick(d, ['subject', 'notAfter', 'thresholdDays', 'daysLeft']) }, deviceId: undefined, fingerprintSha256: undefined, certificateId: undefined };
      return {
        type,
        data: { kind: 'device', fingerprintSha256: row.targetId, ...pick(d, ['deviceId', 'caId', 'notAfter', 'thresholdDays', 'daysLeft']) },
        deviceId: str(d['deviceId']) ?? undefined,
        fingerprintSha256: row.targetId,
        certificateId: undefined,
      };
    }
    case 'certificate.renewal-requested':
      return { type: 'certificate.renewal-requested', data: pick(d, ['caId', 'deviceCount']), deviceId: undefined, fingerprintSha256: undefined, certificateId: undefined };
    case 'certificate.upload':
      return caEvent('ca.uploaded', row, ['certType', 'purpose', 'subject', 'fingerprintSha256']);
    case 'certificate.enable':
      return caEvent('ca.enabled', row, []);
    case 'certificate.disable':
      return caEvent('ca.disabled', row, []);
    case 'certificate.delete':
      return caEvent('ca.deleted', row, ['subject', 'fingerprintSha256']);
    case 'certificate.crl-stale':
      return caEvent('ca.crl-stale', row, ['crlNumber', 'nextUpdate']);
    case 'pki.ca.create':
      return { ...caEvent('ca.created', row, ['mode', 'keyStorage', 'status', 'subject', 'fingerprintSha256', 'caCertificateId']), data: { managedCaId: row.targetId, ...pick(d, ['mode', 'keyStorage', 'status', 'subject', 'fingerprintSha256', 'caCertificateId']) } };
    case 'pki.ca.activate':
      return { ...caEvent('ca.activated', row, []), data: { managedCaId: row.targetId, ...pick(d, ['mode', 'keyStorage', 'status', 'subject', 'fingerprintSha256', 'caCertificateId']) } };
    case TEST_EVENT_ACTION:
      return { type: TEST_EVENT_TYPE, data: { webhookId: row.targetId, message: 'a test event sent on request' }, deviceId: undefined, fingerprintSha256: undefined, certificateId: undefined, onlyWebhookId: row.targetId };
    default:
      return undefined;
  }
}
