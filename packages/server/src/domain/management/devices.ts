import { randomUUID } from 'node:crypto';
import { isValidCertificateId } from '@fleetpki/pki';
import { hasUndisplayableCharacter } from '../shared/display-text.js';
import { ServiceError } from '../../service-error.js';
import type { DevicesTable, ProjectRow } from '../../store/schema.js';
import { isForeignKeyViolation, isUniqueViolation } from '../../store/constraint-violations.js';
import { projectGone } from './projects.js';
import { recordAudit } from '../shared/audit-log.js';
import { expectOneRow, retryOnConcurrentChange } from '../shared/concurrent-change.js';
import { bumpGenerations } from '../shared/project-generations.js';
import { fetchPage, ID_KEY, INSTANT_KEY, oldestFirst, TEXT_KEY, type KeysetOrder, type Page, type PageRequest } from '../shared/pagination.js';
import { sql } from 'kysely';
import { actorName, type Principal } from '../shared/principal.js';
import { instantFilter } from '../shared/instant-filter.js';
import type { ServiceDeps } from '../shared/service-deps.js';

/** How a device came to be (DESIGN §4); `pre-provisioned` means created through the API by name. */
export type Provisioning = 'pre-provisioned' | 'created' | 'associated' | 'existing';

export interface Device {
  readonly id: string;
  readonly name: string;
  readonly certificateId: string | null;
  readonly enabled: boolean;
  readonly provisioning: Provisioning;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly lastSeenAt: string | null;
}

export const MAX_DEVICE_NAME_LENGTH = 128;

export interface DeviceFilter {
  readonly certificateId?: string | undefined;
  readonly name?: string | undefined;
  /** Names starting with it, compared as bytes: the list is then in name order (an index range). */
  readonly namePrefix?: string | undefined;
  readonly enabled?: boolean | undefined;
  /** ISO 8601: devices last seen before it; the list is then in last-seen order. */
  readonly lastSeenBefore?: string | undefined;
}

/**
 * The least string above every string that starts with `prefix`, in byte (code point) order:
 * its last code point moved one up — past the surrogates, which UTF-8 never holds — and when
 * that is U+10FFFF already, the same for what comes before it. None when the prefix is all
 * U+10FFFF: then nothing bounds the range above.
 */
export function prefixSuccessor(prefix: string): string | undefined {
  const points = [...prefix].map((c) => c.codePointAt(0) as number);
  while (points.length > 0) {
    const last = points.pop() as number;
    if (last < 0x10ffff) return String.fromCodePoint(...points, last + 1 === 0xd800 ? 0xe000 : last + 1);
  }
  return undefined;
}

/** Names compared as bytes: PostgreSQL gets a `binary` collation made from "C" (migration 0010). */
const NAME_BYTES = sql`name COLLATE "binary"`;
const BY_NAME: KeysetOrder<DevicesTable> = { columns: [NAME_BYTES], direction: 'asc', key: (row) => [row.name], patterns: [TEXT_KEY] };
const BY_LAST_SEEN: KeysetOrder<DevicesTable> = { columns: ['last_seen_at', 'id'], direction: 'asc', key: (row) => [row.last_seen_at as string, row.id], patterns: [INSTANT_KEY, ID_KEY] };

export function deviceView(row: DevicesTable): Device {
  return {
    id: row.id,
    name: row.name,
    certificateId: row.certificate_id,
    enabled: row.enabled === 1,
    provisioning: row.provisioning as Provisioning,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    lastSeenAt: row.last_seen_at,
  };
}

/** A device made by name, before any connection (the API's create and a bulk import alike). */
export function preProvisionedDevice(id: string, projectId: string, name: string, certificateId: string | null, enabled: boolean, at: string): DevicesTable {
  return { id, project_id: projectId, name, certificate_id: certificateId, enabled: enabled ? 1 : 0, provisioning: 'pre-provisioned', created_at: at, updated_at: at, last_seen_at: null };
}

/** DEVICE_NAME_INVALID unless the name is one a device may have (the API and an import check alike). */
export function checkDeviceName(name: string): void {
  // Names show up in tables and logs: printable, no leading/trailing space, bounded.
  if (name.length === 0 || name.length > MAX_DEVICE_NAME_LENGTH || name.trim() !== name || hasUndisplayableCharacter(name)) {
    throw new ServiceError('DEVICE_NAME_INVALID', `a device name is 1–${MAX_DEVICE_NAME_LENGTH} printable characters without leading or trailing spaces`, { name });
  }
}

/** CERTIFICATE_ID_INVALID unless it matches DESIGN §3's certificate ID pattern. */
export function checkCertificateId(certificateId: string): void {
  if (!isValidCertificateId(certificateId)) {
    throw new ServiceError('CERTIFICATE_ID_INVALID', `certificate ID ${JSON.stringify(certificateId)} must match ^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$`, { certificateId });
  }
}

/** Maps a unique violation on devices to the field that collided. */
async function conflictError(deps: ServiceDeps, project: ProjectRow, row: { name: string; certificate_id: string | null; id: string }): Promise<ServiceError> {
  if (row.certificate_id !== null) {
    const holder = await deps.db
      .selectFrom('devices')
      .select('id')
      .where('project_id', '=', project.id)
      .where('certificate_id', '=', row.certificate_id)
      .where('id', '!=', row.id)
      .executeTakeFirst();
    if (holder) return new ServiceError('CERTIFICATE_ID_TAKEN', `another device already has certificate ID ${JSON.stringify(row.certificate_id)}`, { existingId: holder.id });
  }
  const holder = await deps.db.selectFrom('devices').select('id').where('project_id', '=', project.id).where('name', '=', row.name).where('id', '!=', row.id).executeTakeFirst();
  return new ServiceError('DEVICE_NAME_TAKEN', `another device in this project is named ${JSON.stringify(row.name)}`, holder ? { existingId: holder.id } : {});
}

/**
 * Pre-provisions a device by name (Golioth's flow): its first certificate whose CN equals the
 * name is associated with it (DESIGN §4 step 2), unless a certificate ID is given up front.
 */
export async function createDevice(
  deps: ServiceDeps,
  principal: Principal,
  project: ProjectRow,
  input: { name: string; certificateId?: string | undefined; enabled?: boolean | undefined },
): Promise<Device> {
  checkDeviceName(input.name);
  if (input.certificateId !== undefined) checkCertificateId(input.certificateId);
  const at = deps.now().toISOString();
  const row = preProvisionedDevice(randomUUID(), project.id, input.name, input.certificateId ?? null, input.enabled !== false, at);
  try {
    await deps.db.transaction().execute(async (trx) => {
      await trx.insertInto('devices').values(row).execute();
      await recordAudit(trx, deps.now(), {
        actor: actorName(principal),
        action: 'device.create',
        targetType: 'device',
        targetId: row.id,
        projectId: project.id,
        details: { name: row.name, certificateId: row.certificate_id },
      });
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw await conflictError(deps, project, row);
    if (isForeignKeyViolation(error)) throw projectGone(project);
    throw error;
  }
  return deviceView(row);
}

export async function listDevices(deps: ServiceDeps, project: ProjectRow, filter: DeviceFilter, request: PageRequest): Promise<Page<Device>> {
  let query = deps.db.selectFrom('devices').where('project_id', '=', project.id);
  if (filter.certificateId !== undefined) query = query.where('certificate_id', '=', filter.certificateId);
  if (filter.name !== undefined) query = query.where('name', '=', filter.name);
  if (filter.enabled !== undefined) query = query.where('enabled', '=', filter.enabled ? 1 : 0);
  if (filter.namePrefix !== undefined && filter.lastSeenBefore !== undefined) {
    throw new ServiceError('VALIDATION_FAILED', 'namePrefix and lastSeenBefore each set the list’s order: give one of them');
  }
  if (filter.namePrefix !== undefined) {
    // Byte order in both stores, so the range holds exactly the names that start with the prefix.
    query = query.where(sql<boolean>`${NAME_BYTES} >= ${filter.namePrefix}`);
    const above = prefixSuccessor(filter.namePrefix);
    if (above !== undefined) query = query.where(sql<boolean>`${NAME_BYTES} < ${above}`);
    return fetchPage(deps.db, query, (q) => q.selectAll(), deviceView, request, BY_NAME);
  }
  if (filter.lastSeenBefore !== undefined) {
    query = query.where('last_seen_at', '<', instantFilter(filter.lastSeenBefore, 'lastSeenBefore'));
    return fetchPage(deps.db, query, (q) => q.selectAll(), deviceView, request, BY_LAST_SEEN);
  }
  return fetchPage(deps.db, query, (q) => q.selectAll(), deviceView, request, oldestFirst());
}

async function findDevice(deps: ServiceDeps, project: ProjectRow, id: string): Promise<DevicesTable> {
  const row = await deps.db.selectFrom('devices').selectAll().where('project_id', '=', project.id).where('id', '=', id).executeTakeFirst();
  if (!row) throw new ServiceError('DEVICE_NOT_FOUND', `no device ${JSON.stringify(id)} in project ${JSON.stringify(project.slug)}`, { deviceId: id });
  return row;
}

export async function getDevice(deps: ServiceDeps, project: ProjectRow, id: string): Promise<Device> {
  return deviceView(await findDevice(deps, project, id));
}

/** Renames, enables/disables, or sets a missing certificate ID; a set certificate ID never changes (DESIGN §3). */
export async function updateDevice(
  deps: ServiceDeps,
  principal: Principal,
  project: ProjectRow,
  id: string,
  input: { name?: string | undefined; enabled?: boolean | undefined; certificateId?: string | undefined },
): Promise<Device> {
  if (input.name !== undefined) checkDeviceName(input.name);
  if (input.certificateId !== undefined) checkCertificateId(input.certificateId);
  return retryOnConcurrentChange(async () => {
    const row = await findDevice(deps, project, id);
    if (input.certificateId !== undefined && row.certificate_id !== null && row.certificate_id !== input.certificateId) {
      throw new ServiceError('CERTIFICATE_ID_IMMUTABLE', `the device's certificate ID is ${JSON.stringify(row.certificate_id)} and cannot change; create a new device instead`, {
        certificateId: row.certificate_id,
      });
    }
    const changes: Partial<DevicesTable> = {};
    if (input.name !== undefined && input.name !== row.name) changes.name = input.name;
    if (input.enabled !== undefined && (row.enabled === 1) !== input.enabled) changes.enabled = input.enabled ? 1 : 0;
    if (input.certificateId !== undefined && row.certificate_id === null) changes.certificate_id = input.certificateId;
    if (Object.keys(changes).length === 0) return deviceView(row);
    const updated: DevicesTable = { ...row, ...changes, updated_at: deps.now().toISOString() };
    try {
      await deps.db.transaction().execute(async (trx) => {
        // Compare-and-swap on what was read: a concurrent PATCH cannot set the certificate ID twice.
        let update = trx
          .updateTable('devices')
          .set({ ...changes, updated_at: updated.updated_at })
          .where('id', '=', row.id)
          .where('name', '=', row.name)
          .where('enabled', '=', row.enabled);
        update = row.certificate_id === null ? update.where('certificate_id', 'is', null) : update.where('certificate_id', '=', row.certificate_id);
        expectOneRow(await update.executeTakeFirst());
        if (changes.enabled !== undefined) await bumpGenerations(trx, project.id, { ca: false });
        await recordAudit(trx, deps.now(), {
          actor: actorName(principal),
          action: 'device.update',
          targetType: 'device',
          targetId: row.id,
          projectId: project.id,
          details: {
            ...(changes.name !== undefined ? { name: changes.name } : {}),
            ...(changes.enabled !== undefined ? { enabled: changes.enabled === 1 } : {}),
            ...(changes.certificate_id !== undefined ? { certificateId: changes.certificate_id } : {}),
          },
        });
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw await conflictError(deps, project, updated);
      throw error;
    }
    return deviceView(updated);
  });
}

export async function deleteDevice(deps: ServiceDeps, principal: Principal, project: ProjectRow, id: string): Promise<void> {
  const row = await findDevice(deps, project, id);
  await deps.db.transaction().execute(async (trx) => {
    const deleted = await trx.deleteFrom('devices').where('id', '=', row.id).executeTakeFirst();
    // Deleted by a concurrent request: that one is audited, this one is a 404.
    if (Number(deleted.numDeletedRows) !== 1) throw new ServiceError('DEVICE_NOT_FOUND', `no device ${JSON.stringify(id)} in project ${JSON.stringify(project.slug)}`, { deviceId: id });
    await bumpGenerations(trx, project.id, { ca: false });
    await recordAudit(trx, deps.now(), {
      actor: actorName(principal),
      action: 'device.delete',
      targetType: 'device',
      targetId: row.id,
      projectId: project.id,
      details: { name: row.name, certificateId: row.certificate_id },
    });
  });
}

/**
 * The one rule of a disabled device (DESIGN §3: "its device is not disabled"): it authenticates
 * on no transport and gets no certificate. Undefined when the device may go on.
 */
export function disabledDevice(device: { readonly enabled: number; readonly name: string }): { readonly code: 'DEVICE_DISABLED'; readonly message: string } | undefined {
  return device.enabled === 1 ? undefined : { code: 'DEVICE_DISABLED', message: `device "${device.name}" is disabled` };
}
