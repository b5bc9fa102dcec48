import { z } from '@hono/zod-openapi';
import { hasUndisplayableCharacter } from '../domain/shared/index.js';
import { COUNT_CAP, DEFAULT_PER_PAGE, MAX_OFFSET_ROWS, MAX_PER_PAGE } from '../domain/shared/index.js';
import { API_KEY_SCOPES, CRL_VALIDITY_SECONDS_BOUNDS, MAX_RENEWAL_DEVICES, EXPIRY_ALERT_DAYS_BOUNDS, RENEWAL_JITTER_SECONDS_BOUNDS, ROTATION_GRACE_SECONDS_BOUNDS, TOKEN_AUDIENCES_BOUNDS, TOKEN_LIFETIME_SECONDS_BOUNDS } from '../domain/management/index.js';
import { MAX_REVOCATIONS_PER_REQUEST, REVOCATION_REASONS } from '../domain/revocation/index.js';

/** Schemas of the management API: they validate requests and generate /openapi.json. */

/**
 * Every string a client sends: bounded, and free of control and format characters (PostgreSQL
 * text cannot even hold NUL, and names end up in tables, logs and MQTT topics; see display-text.ts).
 */
export const safeText = (max: number) =>
  z
    .string()
    .max(max)
    .refine((value) => !hasUndisplayableCharacter(value), 'must not contain control or format characters (such as U+202E)');

/** An id or slug in a path. */
export const pathParam = (name: string) => safeText(200).openapi({ param: { name, in: 'path' } });

export const Problem = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    code: z.string().openapi({ example: 'PROJECT_NOT_FOUND', description: 'stable machine-readable code' }),
    detail: z.string(),
    instance: z.string().optional(),
  })
  .catchall(z.unknown())
  .openapi('Problem', { description: 'RFC 9457 problem details; extra members carry the facts of the failure' });

export const problemResponses = (...statuses: number[]): Record<number, { description: string; content: { 'application/problem+json': { schema: typeof Problem } } }> =>
  Object.fromEntries(statuses.map((status) => [status, { description: 'failure, with a stable code', content: { 'application/problem+json': { schema: Problem } } }]));

export const ProjectIdParam = z.object({
  projectId: safeText(200).openapi({ param: { name: 'projectId', in: 'path' }, example: 'acme', description: 'the project slug' }),
});

export const PageQuery = z.object({
  page: z.coerce
    .number()
    .int()
    .min(0)
    .max(1_000_000)
    .default(0)
    .openapi({ description: `page number, from 0, within the first ${MAX_OFFSET_ROWS} rows (PAGE_TOO_DEEP beyond: page by cursor)` }),
  perPage: z.coerce.number().int().min(1).max(MAX_PER_PAGE).default(DEFAULT_PER_PAGE),
  cursor: z.string().max(1024).optional().openapi({ description: 'keyset paging: the nextCursor of the previous page (page is then not read)' }),
  count: z.enum(['true', 'false']).optional().openapi({ description: `true: count every matching row in total; otherwise total is counted up to ${COUNT_CAP} and null beyond` }),
});

const pageFields = <T extends z.ZodTypeAny>(item: T) => ({
  list: z.array(item).readonly(),
  page: z.number().int(),
  perPage: z.number().int(),
  total: z.number().int().nullable().openapi({ description: `the matching rows: counted with count=true, or when at most ${COUNT_CAP}; else null` }),
  nextCursor: z.string().nullable().openapi({ description: 'pass as cursor for the next page; null on the last' }),
});

export const pageOf = <T extends z.ZodTypeAny>(item: T, name: string) => z.object(pageFields(item)).openapi(name);

export const ProjectSettingsSchema = z
  .object({
    staleCrl: z.enum(['apply', 'refuse']).openapi({ description: 'a CRL past its nextUpdate: apply keeps refusing its entries; refuse also refuses every device under its CA (CRL_STALE)' }),
    crlValiditySeconds: z.number().int().min(CRL_VALIDITY_SECONDS_BOUNDS.min).max(CRL_VALIDITY_SECONDS_BOUNDS.max).openapi({ description: 'how long a managed CA’s CRL is valid' }),
    rotationGracePeriodSeconds: z
      .number()
      .int()
      .min(ROTATION_GRACE_SECONDS_BOUNDS.min)
      .max(ROTATION_GRACE_SECONDS_BOUNDS.max)
      .openapi({ description: 'after a device first authenticates with a certificate that supersedes its others, how long those still connect (then CERT_SUPERSEDED); 0 refuses them at once' }),
    supersedeOnNewerCertificate: z.boolean().openapi({ description: 'for uploaded CAs too: a certificate with a later notBefore supersedes the device’s older ones (issued certificates always do)' }),
    renewAtLifetimeFraction: z.number().gt(0).lt(1).openapi({ description: 'the fraction of a certificate’s lifetime after which it should be renewed (renewAfter)' }),
    renewalJitterSeconds: z
      .number()
      .int()
      .min(RENEWAL_JITTER_SECONDS_BOUNDS.min)
      .max(RENEWAL_JITTER_SECONDS_BOUNDS.max)
      .openapi({ description: 'renewAfter is spread over this many seconds, per certificate, so a fleet issued together does not renew together' }),
    expiryAlertDays: z
      .array(z.number().int().min(EXPIRY_ALERT_DAYS_BOUNDS.min).max(EXPIRY_ALERT_DAYS_BOUNDS.max))
      .max(EXPIRY_ALERT_DAYS_BOUNDS.count)
      .readonly()
      .openapi({ description: 'days before notAfter at which certificate.expiring is reported, once each per certificate' }),
    tokenLifetimeSeconds: z
      .number()
      .int()
      .min(TOKEN_LIFETIME_SECONDS_BOUNDS.min)
      .max(TOKEN_LIFETIME_SECONDS_BOUNDS.max)
      .openapi({ description: 'how long a device identity token (POST /v1/token on the gateway) is valid' }),
    tokenAudiences: z
      .array(z.string().min(1).max(TOKEN_AUDIENCES_BOUNDS.length).regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces'))
      .max(TOKEN_AUDIENCES_BOUNDS.count)
      .refine((list) => new Set(list).size === list.length, 'each audience once')
      .readonly()
      .openapi({ description: 'the audiences a device may ask a token for (its aud claim); empty, the default, gives no tokens. A request without audience gets the only one when exactly one is listed' }),
    allowServerKeygen: z.boolean().openapi({ description: 'EST serverkeygen: the server makes the device’s key and returns it over TLS with the certificate (RFC 7030 §4.4); off by default' }),
  })
  .openapi('ProjectSettings');
export const Project = z
  .object({ id: z.string(), slug: z.string(), name: z.string(), createdAt: z.string(), updatedAt: z.string(), settings: ProjectSettingsSchema })
  .openapi('Project');
/** A project as the list shows it: with how many of its certificates expire within 7 days (a badge). */
export const ListedProject = z
  .object({
    ...Project.shape,
    certificatesExpiringSoon: z.number().int().openapi({ description: 'active device certificates and enabled CA certificates expiring within 7 days' }),
  })
  .openapi('ListedProject');
export const ProjectPage = pageOf(ListedProject, 'ProjectPage');
export const ProjectCreate = z
  .object({
    name: safeText(200).min(1),
    slug: safeText(63).optional().openapi({ description: 'defaults to one derived from the name', example: 'acme' }),
  })
  .strict()
  .openapi('ProjectCreate');
export const ProjectUpdate = z.object({ name: safeText(200).min(1).optional(), settings: ProjectSettingsSchema.partial().strict().optional() }).strict().openapi('ProjectUpdate');

export const CertificateContent = z
  .object({
    subject: z.string(),
    issuer: z.string(),
    serialNumber: z.string(),
    notBefore: z.string(),
    notAfter: z.string(),
    fingerprintSha256: z.string(),
    publicKeyAlgorithm: z.string(),
    signatureAlgorithm: z.string(),
    keyUsages: z.array(z.string()).readonly(),
    extendedKeyUsages: z.array(z.string()).readonly(),
    isCa: z.boolean(),
    pathLen: z.number().int().nullable(),
    subjectKeyIdentifier: z.string().nullable(),
    authorityKeyIdentifier: z.string().nullable(),
    subjectAltNames: z.array(z.string()).readonly(),
    selfIssued: z.boolean(),
  })
  .openapi('CertificateContent');

export const UploadWarning = z
  .object({ code: z.literal('CA_EXPIRES_SOON'), message: z.string(), notAfter: z.string(), daysLeft: z.number().int() })
  .openapi('UploadWarning');

export const CaCertificate = z
  .object({
    id: z.string(),
    certType: z.enum(['root', 'intermediate']),
    enabled: z.boolean(),
    createdAt: z.string(),
    updatedAt: z.string(),
    certificateContent: CertificateContent,
    purpose: z.enum(['device', 'manufacturer']).openapi({ description: 'device: a trust anchor for connecting; manufacturer: vouches for factory certificates at EST enrollment only' }),
    crlUrl: z.string().nullable().openapi({ description: 'where the server fetches its CRL, or null' }),
  })
  .openapi('CaCertificate');
export const CaCertificateCreated = CaCertificate.extend({ warnings: z.array(UploadWarning).readonly() }).openapi('CaCertificateCreated');
export const CaCertificateUpload = z
  .object({
    certFile: z.string().min(1).openapi({ description: 'base64 of a PEM or DER file holding one or more CA certificates' }),
    certType: z.enum(['root', 'intermediate']).optional().openapi({ description: 'defaults to root for a self-issued certificate, else intermediate' }),
    purpose: z
      .enum(['device', 'manufacturer'])
      .optional()
      .openapi({ description: 'device (default): devices chain to it; manufacturer: its certificates may enroll over EST (simpleenroll), never connect' }),
  })
  .strict()
  .openapi('CaCertificateUpload');
export const CaCertificateUpdate = z
  .object({
    enabled: z.boolean().optional(),
    crlUrl: z.string().max(2048).nullable().optional().openapi({ description: 'where the server fetches this CA’s CRL (http or https; admin key; null clears it)' }),
  })
  .strict()
  .openapi('CaCertificateUpdate');
export const BundleResult = z
  .object({
    index: z.number().int(),
    status: z.number().int().openapi({ description: 'the HTTP status this certificate alone would have had' }),
    certificate: CaCertificate.optional(),
    warnings: z.array(UploadWarning).readonly().optional(),
    problem: Problem.optional(),
  })
  .openapi('BundleResult');
export const BundleUploadResult = z
  .object({ results: z.array(BundleResult).readonly(), created: z.number().int(), refused: z.number().int() })
  .openapi('BundleUploadResult');

export const Device = z
  .object({
    id: z.string(),
    name: z.string(),
    certificateId: z.string().nullable(),
    enabled: z.boolean(),
    provisioning: z.enum(['pre-provisioned', 'created', 'associated', 'existing']),
    createdAt: z.string(),
    updatedAt: z.string(),
    lastSeenAt: z.string().nullable(),
  })
  .openapi('Device');
export const DevicePage = pageOf(Device, 'DevicePage');
export const DeviceCreate = z
  .object({ name: safeText(200), certificateId: safeText(64).optional(), enabled: z.boolean().optional() })
  .strict()
  .openapi('DeviceCreate');
export const DeviceUpdate = z
  .object({ name: safeText(200).optional(), enabled: z.boolean().optional(), certificateId: safeText(64).optional() })
  .strict()
  .openapi('DeviceUpdate');
export const DeviceQuery = PageQuery.extend({
  certificateId: safeText(64).optional(),
  name: safeText(200).optional().openapi({ description: 'the exact name' }),
  namePrefix: safeText(200).optional().openapi({ description: 'names starting with it (compared as bytes); the list is then in name order' }),
  enabled: z.enum(['true', 'false']).optional(),
  lastSeenBefore: safeText(64).optional().openapi({ description: 'ISO 8601: devices last seen before it (never-seen devices are not); the list is then in last-seen order' }),
});

export const DeviceCredential = z
  .object({ id: z.string(), deviceId: z.string(), type: z.literal('PRE_SHARED_KEY'), identity: z.string(), createdAt: z.string() })
  .openapi('DeviceCredential');
export const DeviceCredentialPage = pageOf(DeviceCredential, 'DeviceCredentialPage');
export const DeviceCredentialCreate = z
  .object({
    type: z.literal('PRE_SHARED_KEY'),
    identity: safeText(200).openapi({ description: '`<device>@<projectId>`, as the device sends it in its DTLS handshake' }),
    preSharedKey: safeText(200).openapi({ description: 'the key, 16 to 64 bytes; write-only (never returned)' }),
  })
  .strict()
  .openapi('DeviceCredentialCreate');
export const ApiKey = z
  .object({
    id: z.string(),
    name: z.string(),
    prefix: z.string(),
    createdAt: z.string(),
    revokedAt: z.string().nullable(),
    scopes: z.array(z.enum(API_KEY_SCOPES)).readonly().openapi({ description: 'what the key may be used for: api (the management API), mqtt:subscribe, mqtt:publish' }),
  })
  .openapi('ApiKey');
export const NewApiKey = ApiKey.extend({ key: z.string().openapi({ description: 'the secret, shown only in this response' }) }).openapi('NewApiKey');
export const ApiKeyPage = pageOf(ApiKey, 'ApiKeyPage');
export const ApiKeyCreate = z
  .object({
    name: safeText(200).min(1).optional(),
    scopes: z
      .array(z.enum(API_KEY_SCOPES))
      .min(1)
      .max(API_KEY_SCOPES.length)
      .optional()
      .openapi({ description: 'default ["api"]; an application on the MQTT broker needs mqtt:subscribe and/or mqtt:publish (docs/mqtt-applications.md)' }),
  })
  .strict()
  .openapi('ApiKeyCreate');

export const AuditEvent = z
  .object({
    id: z.number().int(),
    projectKey: z.string().nullable().openapi({ description: 'the project’s internal id; null for platform events' }),
    actor: z.string(),
    action: z.string(),
    targetType: z.string(),
    targetId: z.string(),
    details: z.record(z.string(), z.unknown()).readonly(),
    createdAt: z.string(),
  })
  .openapi('AuditEvent');
export const AuditEventPage = pageOf(AuditEvent, 'AuditEventPage');
/** Bound on the actions one audit query may name. */
export const MAX_AUDIT_ACTIONS = 32;
export const AuditQuery = PageQuery.extend({
  action: safeText(2000)
    .optional()
    .transform((value, ctx) => {
      if (value === undefined) return undefined;
      const actions = value.split(',').map((a) => a.trim()).filter((a) => a !== '');
      if (actions.length > MAX_AUDIT_ACTIONS) {
        ctx.addIssue({ code: 'custom', message: `at most ${MAX_AUDIT_ACTIONS} actions` });
        return z.NEVER;
      }
      return actions;
    })
    .openapi({ type: 'string', description: 'only these actions, comma-separated (e.g. `device.authentication-failed`)', example: 'device.authentication-failed' }),
  targetId: safeText(200).optional().openapi({ description: 'only events about this target (a device ID, a CA certificate ID, a slug…)' }),
  actor: safeText(200).optional().openapi({ description: 'only events by this actor (`admin-key:fpk_…`, `project-key:fpk_…`, `device:sensor-7`, …)' }),
});

export const SECURITY = [{ ApiKey: [] }];

export const RevocationReasonSchema = z.enum(REVOCATION_REASONS).openapi({ description: 'an RFC 5280 §5.3.1 reason name' });
export const RevocationTargetSchema = z
  .union([
    z.object({ fingerprintSha256: safeText(200).openapi({ description: 'SHA-256 of the certificate’s DER (hex, colons allowed): a certificate the project has seen or issued' }) }).strict(),
    z
      .object({
        caId: safeText(200).openapi({ description: 'the project CA certificate that issued it' }),
        serialNumber: safeText(200).openapi({ description: 'its serial, hex (as openssl prints it): seen or not', example: '3A7F01' }),
      })
      .strict(),
  ])
  .openapi('RevocationTarget');
export const RevocationCreate = z
  .object({
    certificates: z.array(RevocationTargetSchema).min(1).max(MAX_REVOCATIONS_PER_REQUEST),
    reason: RevocationReasonSchema,
  })
  .strict()
  .openapi('RevocationCreate');
export const RevocationResultSchema = z
  .object({
    index: z.number().int(),
    fingerprintSha256: z.string().optional(),
    caId: z.string().optional(),
    serialNumber: z.string().optional(),
    status: z.enum(['revoked', 'already-revoked']),
  })
  .openapi('RevocationResult');
export const RevocationOutcomeSchema = z
  .object({ results: z.array(RevocationResultSchema).readonly(), revoked: z.number().int(), alreadyRevoked: z.number().int() })
  .openapi('RevocationOutcome');
export const RevocationSchema = z
  .object({
    id: z.string(),
    fingerprintSha256: z.string().nullable(),
    caId: z.string().nullable(),
    serialNumber: z.string().nullable(),
    reason: RevocationReasonSchema,
    revokedAt: z.string(),
    actor: z.string(),
  })
  .openapi('Revocation');
export const RevocationPage = pageOf(RevocationSchema, 'RevocationPage');
export const RevocationQuerySchema = PageQuery.extend({
  reason: RevocationReasonSchema.optional(),
  caId: safeText(200).optional(),
  fingerprintSha256: safeText(200).optional(),
  serialNumber: safeText(200).optional(),
});

export const DeviceCertificateSchema = z
  .object({
    fingerprintSha256: z.string(),
    serialNumber: z.string().openapi({ description: 'upper-case hex, no leading zeros' }),
    issuer: z.string(),
    subject: z.string(),
    notBefore: z.string(),
    notAfter: z.string(),
    caId: z.string().nullable().openapi({ description: 'the project CA certificate its path ends at' }),
    deviceId: z.string().nullable(),
    source: z.enum(['seen', 'issued']),
    status: z.enum(['active', 'superseded', 'revoked']),
    revokedAt: z.string().nullable(),
    revocationReason: z.string().nullable(),
    supersededAt: z.string().nullable(),
    firstSeenAt: z.string().nullable(),
    lastSeenAt: z.string().nullable(),
  })
  .openapi('DeviceCertificate');
export const DeviceCertificatePage = pageOf(DeviceCertificateSchema, 'DeviceCertificatePage');
export const DeviceCertificateQuerySchema = PageQuery.extend({
  status: z.enum(['active', 'superseded', 'revoked']).optional(),
  source: z.enum(['seen', 'issued']).optional(),
  caId: safeText(200).optional(),
  expiresBefore: safeText(64).optional().openapi({ description: 'ISO 8601: only certificates ending before it' }),
  expiresAfter: safeText(64).optional().openapi({ description: 'ISO 8601: only certificates ending after it' }),
});

export const CaCrlSchema = z
  .object({
    caId: z.string(),
    crlNumber: z.string().openapi({ description: 'cRLNumber, decimal' }),
    thisUpdate: z.string(),
    nextUpdate: z.string().nullable(),
    entryCount: z.number().int(),
    stale: z.boolean().openapi({ description: 'past its nextUpdate: its entries still apply; a newer CRL is due' }),
    uploadedAt: z.string(),
  })
  .openapi('CaCrl');
/** A CA certificate as its project's list shows it: with the CRL in force, so a stale one shows at a glance. */
export const ListedCaCertificate = z
  .object({
    ...CaCertificate.shape,
    // null when no CRL was uploaded or fetched for it
    crl: CaCrlSchema.nullable(),
  })
  .openapi('ListedCaCertificate');
export const CaCertificatePage = pageOf(ListedCaCertificate, 'CaCertificatePage');
export const CaCrlUpload = z
  .object({ crlFile: z.string().max(16 * 1024 * 1024).openapi({ description: 'base64 of the CRL file, PEM or DER (as certFile is of a certificate)' }) })
  .strict()
  .openapi('CaCrlUpload');

export const AffectedDeviceSchema = z
  .object({ deviceId: z.string(), name: z.string(), certificateId: z.string().nullable(), fingerprintSha256: z.string(), lastSeenAt: z.string().nullable() })
  .openapi('AffectedDevice');
export const CaCrlUploadResultSchema = CaCrlSchema.extend({
  dryRun: z.boolean().openapi({ description: 'true when nothing was stored (?dryRun=true): the CRL passed every check, and cuts is what putting it in force would do' }),
  cuts: z
    .object({
      deviceCount: z.number().int().openapi({ description: 'devices holding an active certificate this CRL lists and the one in force does not' }),
      certificateCount: z.number().int().openapi({ description: 'active inventory certificates it newly lists' }),
      devices: z.array(AffectedDeviceSchema).readonly().openapi({ description: 'the first 20 of those devices, by name' }),
    })
    .openapi('CrlCuts'),
}).openapi('CaCrlUploadResult');
export const CaBlastRadiusSchema = z
  .object({
    caId: z.string(),
    deviceCount: z.number().int().openapi({ description: 'devices whose latest accepted certificate chains to the CA' }),
    certificateCount: z.number().int().openapi({ description: 'active inventory certificates that chain to it' }),
    devices: pageOf(AffectedDeviceSchema, 'AffectedDevicePage'),
  })
  .openapi('CaBlastRadius');

export const RenewalRequestSchema = z
  .union([
    z.object({ deviceIds: z.array(z.string().min(1).max(200)).min(1).max(MAX_RENEWAL_DEVICES) }).strict(),
    z.object({ caId: z.string().min(1).max(200) }).strict(),
  ])
  .openapi('RenewalRequest', { description: 'the devices to renew now, or every device under a CA certificate' });
export const RenewalRequestedSchema = z
  .object({
    requestedAt: z.string().openapi({ description: 'the certificates issued before it renew from then: their renewAfter is this instant' }),
    deviceCount: z.number().int().nullable(),
    caId: z.string().nullable(),
  })
  .openapi('RenewalRequested');
