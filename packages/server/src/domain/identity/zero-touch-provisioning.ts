import { disabledDevice } from '../management/devices.js';
import { randomBytes, randomUUID } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { Database, DevicesTable, ProjectRow } from '../../store/schema.js';
import { isUniqueViolation } from '../../store/constraint-violations.js';
import { recordAudit } from '../shared/audit-log.js';
import type { AuthenticationJournal } from './authentication-journal.js';
import type { ServiceDeps } from '../shared/service-deps.js';
import { deviceLookup } from './device-lookups.js';
import { NO_TELEMETRY } from '../shared/telemetry.js';

/** What a connection did to the device table (DESIGN §4). */
export type ProvisioningOutcome = 'existing' | 'associated' | 'created';

/** Concurrent first connections may collide on a unique constraint; each retry sees the winner. */
const MAX_ATTEMPTS = 5;

/** Another connection changed the device between our read and our write: start over. */
class LostRace extends Error {}

export interface ProvisionedDevice {
  readonly device: DevicesTable;
  readonly outcome: ProvisioningOutcome;
}

/**
 * Golioth's zero-touch provisioning for certificate ID C in project P, in one transaction
 * with its audit event and the last-seen update (DESIGN §4):
 * 1. the device whose certificate ID is C; else
 * 2. the device named C with no certificate ID, which gets C; else
 * 3. a new device with certificate ID C, named C (C-xxxx when the name is taken).
 * Uniqueness of (project, certificate ID) in the store makes concurrent first connections
 * create exactly one device: the losers' transactions fail and their retry finds it.
 */
export async function provisionDevice(
  deps: ServiceDeps,
  journal: AuthenticationJournal,
  project: ProjectRow,
  certificateId: string,
  auditDetails: Readonly<Record<string, unknown>>,
): Promise<ProvisionedDevice> {
  // The common case, a known device connecting again, changes no row: a read, and its
  // last-seen time and audit event go through the journal.
  const known = await deviceLookup(deps.db)(project.id, certificateId);
  if (known) {
    const at = deps.now();
    journal.record({
      at,
      entry: {
        actor: `device:${certificateId}`,
        action: !disabledDevice(known) ? 'device.authenticate' : 'device.authentication-failed',
        targetType: 'device',
        targetId: known.id,
        projectId: project.id,
        details: !disabledDevice(known) ? { ...auditDetails, provisioning: 'existing' } : { ...auditDetails, code: 'DEVICE_DISABLED' },
      },
      ...(!disabledDevice(known) ? { seenDeviceId: known.id } : {}),
    });
    return { device: !disabledDevice(known) ? { ...known, last_seen_at: at.toISOString() } : known, outcome: 'existing' };
  }
  for (let attempt = 1; ; attempt++) {
    try {
      const provisioned = await deps.db.transaction().execute((trx) => provisionOnce(trx, deps.now(), project, certificateId, auditDetails));
      if (provisioned.outcome !== 'existing') (deps.telemetry ?? NO_TELEMETRY).deviceProvisioned(provisioned.outcome);
      return provisioned;
    } catch (error) {
      if (!(isUniqueViolation(error) || error instanceof LostRace) || attempt >= MAX_ATTEMPTS) throw error;
    }
  }
}

async function provisionOnce(
  trx: Transaction<Database>,
  now: Date,
  project: ProjectRow,
  certificateId: string,
  auditDetails: Readonly<Record<string, unknown>>,
): Promise<ProvisionedDevice> {
  const at = now.toISOString();
  let outcome: ProvisioningOutcome;
  let device = await trx.selectFrom('devices').selectAll().where('project_id', '=', project.id).where('certificate_id', '=', certificateId).executeTakeFirst();
  if (device) {
    outcome = 'existing';
  } else {
    const named = await trx
      .selectFrom('devices')
      .selectAll()
      .where('project_id', '=', project.id)
      .where('name', '=', certificateId)
      .where('certificate_id', 'is', null)
      .executeTakeFirst();
    if (named && disabledDevice(named)) {
      // A disabled device stays as it is: it is refused below, and association waits.
      device = named;
      outcome = 'existing';
    } else if (named) {
      const changed = await trx
        .updateTable('devices')
        .set({ certificate_id: certificateId, provisioning: 'associated', updated_at: at })
        .where('id', '=', named.id)
        .where('certificate_id', 'is', null)
        .executeTakeFirst();
      if (Number(changed.numUpdatedRows) !== 1) throw new LostRace();
      device = { ...named, certificate_id: certificateId, provisioning: 'associated', updated_at: at };
      outcome = 'associated';
    } else {
      const nameTaken = await trx.selectFrom('devices').select('id').where('project_id', '=', project.id).where('name', '=', certificateId).executeTakeFirst();
      device = {
        id: randomUUID(),
        project_id: project.id,
        name: nameTaken ? `${certificateId}-${randomBytes(2).toString('hex')}` : certificateId,
        certificate_id: certificateId,
        enabled: 1,
        provisioning: 'created',
        created_at: at,
        updated_at: at,
        last_seen_at: at,
      };
      await trx.insertInto('devices').values(device).execute();
      outcome = 'created';
    }
  }
  if (!disabledDevice(device)) {
    await trx.updateTable('devices').set({ last_seen_at: at }).where('id', '=', device.id).execute();
    device = { ...device, last_seen_at: at };
  }
  await recordAudit(trx, now, {
    actor: `device:${certificateId}`,
    action: !disabledDevice(device) ? 'device.authenticate' : 'device.authentication-failed',
    targetType: 'device',
    targetId: device.id,
    projectId: project.id,
    details: !disabledDevice(device) ? { ...auditDetails, provisioning: outcome } : { ...auditDetails, code: 'DEVICE_DISABLED' },
  });
  return { device, outcome };
}
