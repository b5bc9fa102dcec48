import type { DeviceAuthResult } from '../domain/identity/index.js';
import type { ConnectionRegistry } from './connection-registry.js';

/**
 * How long a refused connection (HTTPS, MQTT) or DTLS session (CoAP) may stay to read the answer
 * that says why, on every transport.
 */
export const REFUSED_CONNECTION_GRACE_MS = 5_000;

/** A connection nobody authenticated (it never reached the identity service). */
const NOT_AUTHENTICATED: DeviceAuthResult = { ok: false, code: 'NO_CLIENT_CERTIFICATE', message: 'this connection was not authenticated' };

/**
 * The verdicts of a transport's connections, kept one way for all three: a pending or refused
 * verdict is held by the connection object it concerns; an admitted connection is found in the
 * registry instead, so an idle device connection holds no promise or result of its own.
 */
export class ConnectionVerdicts {
  private readonly pending = new WeakMap<object, Promise<DeviceAuthResult>>();

  constructor(private readonly registry: ConnectionRegistry) {}

  /**
   * Holds the verdict the identity service is reaching for `connection`. When it admits the
   * device, `admit` registers the connection (and the pending verdict is dropped); when it
   * refuses, `end` runs after the grace; when the service throws, `failed` runs at once.
   */
  track(connection: object, verdict: Promise<DeviceAuthResult>, hooks: { readonly admit?: (result: Extract<DeviceAuthResult, { ok: true }>) => void; readonly end: () => void; readonly failed: (error: unknown) => void }): Promise<DeviceAuthResult> {
    const settled = verdict.then(
      (result) => {
        if (!result.ok) {
          setTimeout(hooks.end, REFUSED_CONNECTION_GRACE_MS).unref();
        } else if (hooks.admit) {
          hooks.admit(result);
          this.pending.delete(connection);
        }
        return result;
      },
      (error: unknown): DeviceAuthResult => {
        hooks.failed(error);
        return NOT_AUTHENTICATED;
      },
    );
    this.pending.set(connection, settled);
    return settled;
  }

  /** The connection's verdict: admitted while the registry holds it, else what the service said. */
  async of(connection: object): Promise<DeviceAuthResult> {
    const device = this.registry.deviceOf(connection);
    if (device) return { ok: true, device };
    return (await this.pending.get(connection)) ?? NOT_AUTHENTICATED;
  }
}
