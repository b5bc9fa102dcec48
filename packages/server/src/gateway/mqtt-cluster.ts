import { Redis, type RedisOptions } from 'ioredis';
import mqemitterRedis from 'mqemitter-redis';
import aedesPersistenceRedis from 'aedes-persistence-redis';
import type { EventEmitter } from 'node:events';
import type { MQEmitter } from 'mqemitter';

/**
 * How long a message waits in Redis for a persistent application session that is offline: a day,
 * the same horizon as webhook retries. Without a bound, an application that subscribed with a
 * persistent session and never came back would collect its project's traffic for ever.
 */
export const OFFLINE_MESSAGE_TTL_SECONDS = 24 * 60 * 60;

/** Offline messages handed to a persistent session when it reconnects (aedes-persistence-redis' default). */
export const MAX_SESSION_DELIVERY = 1000;

/** What the broker shares with the other `serve` processes through Redis (`serve --redis URL`). */
export interface MqttCluster {
  /** The emitter every published message goes through: Redis pub/sub reaches every node. */
  readonly mq: MQEmitter;
  /** Retained messages, persistent sessions' subscriptions and offline queues, and wills. */
  readonly persistence: unknown;
  /** Resolves once Redis answers a PING; rejects after `timeoutMs` (ioredis would keep retrying). */
  ready(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * ioredis' options for a `redis://` or `rediss://` URL (user, password, database as the path).
 * Both libraries are handed the same parsed options, so neither guesses at the URL.
 */
export function redisOptions(url: string): RedisOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // The URL may hold a password: errors never repeat it.
    throw new Error('the Redis URL is not a URL; use redis://[user:password@]host[:port][/db]');
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') throw new Error(`the Redis URL must start with redis:// or rediss://, not ${parsed.protocol}//`);
  const db = parsed.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d{1,2}$/.test(db)) throw new Error('the database in the Redis URL (its path) must be a number');
  return {
    host: parsed.hostname.replace(/^\[|\]$/g, ''),
    port: parsed.port === '' ? 6379 : Number(parsed.port),
    ...(parsed.username !== '' ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password !== '' ? { password: decodeURIComponent(parsed.password) } : {}),
    db: db === '' ? 0 : Number(db),
    ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

/**
 * The Redis-backed emitter and persistence (aedes' own libraries for a cluster, not a home-made
 * bus), on three connections made here so that the server can ask whether Redis answers and
 * close them itself. A Redis that goes away later is reconnected to by ioredis; `onError` hears
 * each failure (ioredis would otherwise print them unasked).
 */
export function mqttCluster(url: string, onError: (error: Error) => void): MqttCluster {
  const options = redisOptions(url);
  const connections = [new Redis(options), new Redis(options), new Redis(options)] as const;
  for (const connection of connections) connection.on('error', onError);
  const [pubConn, subConn, persistenceConn] = connections;
  const mq = mqemitterRedis({ pubConn, subConn });
  // mqemitter-redis re-emits its connections' errors on `state`; unheard, an EventEmitter's 'error' throws.
  (mq as unknown as { state: EventEmitter }).state.on('error', () => undefined);
  const persistence = aedesPersistenceRedis({ conn: persistenceConn, maxSessionDelivery: MAX_SESSION_DELIVERY, packetTTL: () => OFFLINE_MESSAGE_TTL_SECONDS });
  return {
    mq,
    persistence,
    ready: async (timeoutMs) => {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`Redis at ${options.host ?? ''}:${options.port ?? ''} did not answer within ${timeoutMs} ms`)), timeoutMs);
      });
      try {
        await Promise.race([Promise.all(connections.map((connection) => connection.ping())), late]);
      } finally {
        clearTimeout(timer);
      }
    },
    close: async () => {
      // Closing never fails the shutdown: the connections are dropped below either way.
      await persistence.destroy().catch(() => undefined);
      for (const connection of connections) connection.disconnect();
    },
  };
}
