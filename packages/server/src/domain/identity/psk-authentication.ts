import type { AuthenticationJournal } from './authentication-journal.js';
import type { ConnectionFacts, DeviceAuthResult } from './identity-types.js';
import { findPskCredential } from '../management/device-credentials.js';
import type { SecretSealer } from '../shared/secret-sealer.js';
import { disabledDevice } from '../management/devices.js';
import { RefusalThrottle } from './refusal-throttle.js';
import type { ServiceDeps } from '../shared/service-deps.js';
import { NO_TELEMETRY } from '../shared/telemetry.js';

/**
 * Device identity from a pre-shared key (CoAP/DTLS, as Golioth): the handshake proves the key;
 * this service finds the key for an identity before the handshake needs it, admits the device
 * the credential belongs to once the handshake is done, and audits refusals with their codes,
 * in the project the identity names — like the certificate path in DeviceAuthenticator.
 */
export class PskAuthenticator {
  private readonly refusals = new RefusalThrottle();

  constructor(
    private readonly deps: ServiceDeps,
    private readonly sealer: SecretSealer,
    private readonly journal: AuthenticationJournal,
  ) {}

  /** The key OpenSSL needs for this identity; null when no credential has it. */
  async keyFor(identity: string): Promise<Buffer | null> {
    const credential = await findPskCredential(this.deps, this.sealer, identity);
    return credential ? credential.key : null;
  }

  /** After a handshake that proved the key of `identity`: the device, or why it is refused. */
  /** The verdict, counted by transport, outcome and code, and timed from the handshake's end (issue 18, 2). */
  async authenticate(identity: string, facts: ConnectionFacts): Promise<DeviceAuthResult> {
    const started = performance.now();
    const result = await this.decide(identity, facts);
    (this.deps.telemetry ?? NO_TELEMETRY).deviceAuthentication(facts.transport, result.ok ? 'accepted' : 'refused', result.ok ? 'OK' : result.code, (performance.now() - started) / 1000);
    return result;
  }

  private async decide(identity: string, facts: ConnectionFacts): Promise<DeviceAuthResult> {
    const credential = await findPskCredential(this.deps, this.sealer, identity);
    if (!credential) return this.refuse(identity, null, 'PSK_IDENTITY_UNKNOWN', 'no credential has this PSK identity', facts);
    const { row } = credential;
    const [device, project] = await Promise.all([
      this.deps.db.selectFrom('devices').selectAll().where('id', '=', row.device_id).executeTakeFirst(),
      this.deps.db.selectFrom('projects').selectAll().where('id', '=', row.project_id).executeTakeFirst(),
    ]);
    if (!device || !project) return this.refuse(identity, null, 'PSK_IDENTITY_UNKNOWN', 'the credential’s device is gone', facts);
    const disabled = disabledDevice(device);
    if (disabled) return this.refuse(identity, project.id, disabled.code, disabled.message, facts);
    this.journal.record({
      at: this.deps.now(),
      entry: {
        actor: `device:${identity}`,
        action: 'device.authenticate',
        targetType: 'device',
        targetId: device.id,
        projectId: project.id,
        details: { transport: facts.transport, remoteAddress: facts.remoteAddress ?? null, credential: 'pre-shared-key', pskIdentity: identity, provisioning: 'existing' },
      },
      seenDeviceId: device.id,
    });
    return {
      ok: true,
      device: {
        projectId: project.slug,
        projectKey: project.id,
        certificateId: device.certificate_id,
        deviceId: device.id,
        deviceName: device.name,
        provisioning: 'existing',
        credential: 'pre-shared-key',
        pskIdentity: identity,
        authGeneration: Number(project.auth_generation),
      },
    };
  }

  /** A PSK handshake that failed: an identity nobody has, or a known identity whose key the peer did not prove. */
  async recordHandshakeRefusal(identity: string | null, code: 'PSK_IDENTITY_UNKNOWN' | 'PSK_MISMATCH', message: string, facts: ConnectionFacts): Promise<void> {
    const credential = identity === null ? undefined : await findPskCredential(this.deps, this.sealer, identity).catch(() => undefined);
    // An unknown identity still lands in the audit log of the project its `@<project>` part names.
    const slug = identity?.slice(identity.lastIndexOf('@') + 1);
    const named = credential || !slug ? undefined : await this.deps.db.selectFrom('projects').select('id').where('slug', '=', slug).executeTakeFirst();
    this.refuse(identity, credential?.row.project_id ?? named?.id ?? null, code, message, facts);
  }

  private refuse(identity: string | null, projectId: string | null, code: 'PSK_IDENTITY_UNKNOWN' | 'PSK_MISMATCH' | 'DEVICE_DISABLED', message: string, facts: ConnectionFacts): DeviceAuthResult {
    const suppressedBefore = this.refusals.admit(facts.remoteAddress ?? 'unknown', this.deps.now().getTime());
    if (suppressedBefore !== undefined) {
      this.journal.record({
        at: this.deps.now(),
        entry: {
          actor: 'device',
          action: 'device.authentication-failed',
          targetType: 'psk-identity',
          targetId: identity ?? 'none',
          projectId,
          details: {
            code,
            message,
            transport: facts.transport,
            remoteAddress: facts.remoteAddress ?? null,
            pskIdentity: identity,
            ...(suppressedBefore > 0 ? { suppressedBefore } : {}),
          },
        },
      });
    }
    return { ok: false, code, message };
  }
}
