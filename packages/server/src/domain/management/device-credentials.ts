import { randomUUID } from 'node:crypto';
import { isValidCertificateId } from '@fleetpki/pki';
import { isForeignKeyViolation, isUniqueViolation } from '../../store/constraint-violations.js';
import type { DeviceCredentialsTable, ProjectRow } from '../../store/schema.js';
import { ServiceError } from '../../service-error.js';
import { recordAudit } from '../shared/audit-log.js';
import { fetchPage, oldestFirst, type Page, type PageRequest } from '../shared/pagination.js';
import { actorName, type Principal } from '../shared/principal.js';
import type { SecretSealer } from '../shared/secret-sealer.js';
import type { ServiceDeps } from '../shared/service-deps.js';

/** RFC 4279 §5.3 lets keys be up to 64 octets; below 16 a key is guessable offline from one handshake. */
export const MIN_PSK_BYTES = 16;
export const MAX_PSK_BYTES = 64;

/** A device credential as the API shows it: the key itself is write-only. */
export interface DeviceCredential {
  readonly id: string;
  readonly deviceId: string;
  readonly type: 'PRE_SHARED_KEY';
  readonly identity: string;
  readonly createdAt: string;
}

export function credentialView(row: DeviceCredentialsTable): DeviceCredential {
  return { id: row.id, deviceId: row.device_id, type: row.type, identity: row.identity, createdAt: row.created_at };
}

/** What a sealed key is bound to: moving it to another row makes it unopenable. */
/** What binds a sealed pre-shared key to its row (a master-key rotation re-seals under the same). */
export function pskSealContext(row: Pick<DeviceCredentialsTable, 'id' | 'identity'>): string {
  return `device-credential:${row.id}:${row.identity}`;
}

/**
 * Golioth's PSK identity, `<device>@<project>`: the device part follows the certificate-ID rule
 * (DESIGN §3, safe in PSK identities) and the project part must be this project's slug, so an
 * identity says where the device lives before any lookup.
 */
function checkIdentity(project: ProjectRow, identity: string): void {
  const at = identity.lastIndexOf('@');
  const device = at > 0 ? identity.slice(0, at) : '';
  const projectPart = at > 0 ? identity.slice(at + 1) : '';
  if (!isValidCertificateId(device) || projectPart !== project.slug) {
    throw new ServiceError('PSK_IDENTITY_INVALID', `a PSK identity is "<device>@${project.slug}" with <device> matching ^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$`, { identity });
  }
}

/** Creates a device's pre-shared key (DESIGN §5), sealed with the master key, audited in the same transaction. */
export async function createPskCredential(
  deps: ServiceDeps,
  sealer: SecretSealer,
  principal: Principal,
  project: ProjectRow,
  deviceId: string,
  input: { identity: string; preSharedKey: string },
): Promise<DeviceCredential> {
  checkIdentity(project, input.identity);
  const secret = Buffer.from(input.preSharedKey, 'utf8');
  if (secret.length < MIN_PSK_BYTES || secret.length > MAX_PSK_BYTES) {
    throw new ServiceError('PSK_INVALID', `a pre-shared key is ${MIN_PSK_BYTES} to ${MAX_PSK_BYTES} bytes (UTF-8)`, { minBytes: MIN_PSK_BYTES, maxBytes: MAX_PSK_BYTES });
  }
  const device = await deps.db.selectFrom('devices').select('id').where('project_id', '=', project.id).where('id', '=', deviceId).executeTakeFirst();
  if (!device) throw new ServiceError('DEVICE_NOT_FOUND', `no device ${JSON.stringify(deviceId)} in project ${JSON.stringify(project.slug)}`, { deviceId });
  const id = randomUUID();
  const row: DeviceCredentialsTable = {
    id,
    project_id: project.id,
    device_id: device.id,
    type: 'PRE_SHARED_KEY',
    identity: input.identity,
    secret_sealed: sealer.sealText(secret, pskSealContext({ id, identity: input.identity })),
    created_at: deps.now().toISOString(),
  };
  try {
    await deps.db.transaction().execute(async (trx) => {
      await trx.insertInto('device_credentials').values(row).execute();
      await recordAudit(trx, deps.now(), {
        actor: actorName(principal),
        action: 'device.credential-create',
        targetType: 'device',
        targetId: device.id,
        projectId: project.id,
        details: { credentialId: id, type: row.type, identity: row.identity },
      });
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw new ServiceError('PSK_IDENTITY_TAKEN', `the PSK identity ${JSON.stringify(input.identity)} is already in use`, { identity: input.identity });
    if (isForeignKeyViolation(error)) throw new ServiceError('DEVICE_NOT_FOUND', `device ${JSON.stringify(deviceId)} was deleted`, { deviceId });
    throw error;
  }
  return credentialView(row);
}

export async function listDeviceCredentials(deps: ServiceDeps, project: ProjectRow, deviceId: string, request: PageRequest): Promise<Page<DeviceCredential>> {
  const device = await deps.db.selectFrom('devices').select('id').where('project_id', '=', project.id).where('id', '=', deviceId).executeTakeFirst();
  if (!device) throw new ServiceError('DEVICE_NOT_FOUND', `no device ${JSON.stringify(deviceId)} in project ${JSON.stringify(project.slug)}`, { deviceId });
  const query = deps.db.selectFrom('device_credentials').where('device_id', '=', device.id);
  return fetchPage(deps.db, query, (q) => q.selectAll(), credentialView, request, oldestFirst());
}

/** A credential found by its identity, with its key opened: what the DTLS handshake needs. */
export interface PskCredential {
  readonly row: DeviceCredentialsTable;
  readonly key: Buffer;
}

export async function findPskCredential(deps: ServiceDeps, sealer: SecretSealer, identity: string): Promise<PskCredential | undefined> {
  const row = await deps.db.selectFrom('device_credentials').selectAll().where('identity', '=', identity).where('type', '=', 'PRE_SHARED_KEY').executeTakeFirst();
  if (!row) return undefined;
  const opened = sealer.openText(row.secret_sealed, pskSealContext(row));
  // A key that does not open is the operator's misconfiguration (another master key), not the device's fault.
  if (!opened.ok) throw new Error(`the pre-shared key of credential ${row.id} does not open (${opened.failure === 'key' ? 'another master key?' : 'unknown format'})`);
  return { row, key: opened.value };
}
