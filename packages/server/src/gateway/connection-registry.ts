import type { AuthenticatedDevice } from '../domain/device-authentication.js';

/** A live authenticated connection, whatever its transport. */
export interface DeviceConnection {
  readonly device: AuthenticatedDevice;
  /** Ends the connection now (the transport's own way: destroy the socket, drop the MQTT client). */
  close(reason: string): void;
}

/** A registered connection and the project auth_generation it is known to be valid under. */
export interface RegisteredConnection {
  readonly connection: DeviceConnection;
  checkedGeneration: number;
}

/**
 * The connections this process holds, by project, so a change to a device or a CA can end
 * exactly the connections it concerns (issue 5: within one second).
 */
export class ConnectionRegistry {
  private readonly byProject = new Map<string, Set<RegisteredConnection>>();

  /** Registers a connection as valid under the generation its authentication read; returns the unregister function. */
  add(connection: DeviceConnection): () => void {
    const key = connection.device.projectKey;
    let set = this.byProject.get(key);
    if (!set) {
      set = new Set();
      this.byProject.set(key, set);
    }
    const entry: RegisteredConnection = { connection, checkedGeneration: connection.device.authGeneration };
    set.add(entry);
    return () => {
      set.delete(entry);
      if (set.size === 0 && this.byProject.get(key) === set) this.byProject.delete(key);
    };
  }

  projects(): string[] {
    return [...this.byProject.keys()];
  }

  connections(projectKey: string): RegisteredConnection[] {
    return [...(this.byProject.get(projectKey) ?? [])];
  }

  all(): RegisteredConnection[] {
    return [...this.byProject.values()].flatMap((set) => [...set]);
  }

  get size(): number {
    let n = 0;
    for (const set of this.byProject.values()) n += set.size;
    return n;
  }
}
