// aedes-persistence-redis ships no type declarations: the part of its API fleetpki uses.
declare module 'aedes-persistence-redis' {
  import type { Redis } from 'ioredis';

  interface AedesPersistenceRedisOptions {
    /** The connection to use (else it makes its own from ioredis options). */
    conn: Redis;
    /** Offline messages delivered to a persistent session when it reconnects (default 1,000). */
    maxSessionDelivery?: number;
    /** Seconds an offline message is kept for a persistent session (0: until delivered). */
    packetTTL?: (packet: unknown) => number;
  }

  /** A persistence for aedes' `persistence` option (callback and promise API both). */
  interface AedesPersistenceRedis {
    destroy(): Promise<void>;
  }

  function aedesPersistenceRedis(options?: AedesPersistenceRedisOptions): AedesPersistenceRedis;
  export default aedesPersistenceRedis;
}
