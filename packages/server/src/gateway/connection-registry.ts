import type { AuthenticatedDevice, DeviceTransport } from '../domain/identity/index.js';

/** What ends a connection: a socket (destroy) or an MQTT client (close). */
export type ConnectionHandle = { destroy(): void } | { close(): void };

/** A live authenticated connection and the project auth_generation it is known to be valid under. */
export interface RegisteredConnection {
  readonly device: AuthenticatedDevice;
  readonly transport: DeviceTransport;
  readonly handle: ConnectionHandle;
  checkedGeneration: number;
}

/**
 * The connections this process holds, by project, so a change to a device or a CA can end
 * exactly the connections it concerns (issue 5: within one second). Kept lean: every idle
 * device connection carries one entry, so nothing here allocates a closure per connection.
 */
export class ConnectionRegistry {
  private readonly byProject = new Map<string, Set<RegisteredConnection>>();
  /** Live connections per transport (the metrics' fleetpki_device_connections). */
  private readonly perTransport: Record<DeviceTransport, number> = { https: 0, mqtt: 0, coap: 0 };
  private readonly bySocket = new WeakMap<object, RegisteredConnection>();
  /** One 'close' listener shared by every registered socket (`this` is the socket). */
  private readonly forgetSocket: (this: object) => void;

  constructor() {
    const { bySocket } = this;
    const remove = (entry: RegisteredConnection): void => this.remove(entry);
    this.forgetSocket = function (this: object) {
      const entry = bySocket.get(this);
      if (entry) remove(entry);
    };
  }

  /**
   * Registers a connection as valid under the generation its authentication read; it leaves
   * the registry when `socket` emits 'close'.
   */
  add(device: AuthenticatedDevice, transport: DeviceTransport, handle: ConnectionHandle, socket: { on(event: 'close', listener: () => void): unknown }): void {
    let set = this.byProject.get(device.projectKey);
    if (!set) {
      set = new Set();
      this.byProject.set(device.projectKey, set);
    }
    const entry: RegisteredConnection = { device, transport, handle, checkedGeneration: device.authGeneration };
    set.add(entry);
    this.perTransport[transport]++;
    this.bySocket.set(socket, entry);
    socket.on('close', this.forgetSocket);
  }

  /** The device a registered socket authenticated as, if it is registered. */
  deviceOf(socket: object): AuthenticatedDevice | undefined {
    return this.bySocket.get(socket)?.device;
  }

  /** Ends a connection now (it leaves the registry when its socket closes). */
  close(entry: RegisteredConnection): void {
    if ('destroy' in entry.handle) entry.handle.destroy();
    else entry.handle.close();
  }

  private remove(entry: RegisteredConnection): void {
    const set = this.byProject.get(entry.device.projectKey);
    if (!set?.delete(entry)) return;
    this.perTransport[entry.transport]--;
    if (set.size === 0) this.byProject.delete(entry.device.projectKey);
  }

  /** How many connections each transport holds now. */
  countsByTransport(): Readonly<Record<DeviceTransport, number>> {
    return { ...this.perTransport };
  }

  projects(): string[] {
    return [...this.byProject.keys()];
  }

  connections(projectKey: string): RegisteredConnection[] {
    return [...(this.byProject.get(projectKey) ?? [])];
  }

  /** Every connection, without copying: the enforcer walks them all on each tick. */
  *all(): IterableIterator<RegisteredConnection> {
    for (const set of this.byProject.values()) yield* set;
  }

  get size(): number {
    let n = 0;
    for (const set of this.byProject.values()) n += set.size;
    return n;
  }
}
