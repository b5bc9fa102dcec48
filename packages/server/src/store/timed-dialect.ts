import type { DatabaseConnection, Dialect, Driver, TransactionSettings } from 'kysely';

/** Called with a transaction's seconds from BEGIN to COMMIT or ROLLBACK. */
export type TransactionObserver = (seconds: number) => void;

/**
 * A Kysely dialect whose transactions are timed (issue 18: fleetpki_store_transaction_seconds):
 * the driver's begin, commit and rollback are wrapped, so every transaction of the request path
 * is measured whoever opens it, at the cost of a clock read each. The observer may be set after
 * the store opens (the metrics come later in the start); unset, nothing is measured.
 */
export function timedDialect(dialect: Dialect, observer: { current: TransactionObserver | undefined }): Dialect {
  return {
    createAdapter: () => dialect.createAdapter(),
    createIntrospector: (db) => dialect.createIntrospector(db),
    createQueryCompiler: () => dialect.createQueryCompiler(),
    createDriver(): Driver {
      const driver = dialect.createDriver();
      const begun = new WeakMap<DatabaseConnection, number>();
      const end = (connection: DatabaseConnection) => {
        const started = begun.get(connection);
        begun.delete(connection);
        if (started !== undefined) observer.current?.((performance.now() - started) / 1000);
      };
      return new Proxy(driver, {
        get(target, property, receiver) {
          if (property === 'beginTransaction') {
            return async (connection: DatabaseConnection, settings: TransactionSettings) => {
              await target.beginTransaction(connection, settings);
              if (observer.current) begun.set(connection, performance.now());
            };
          }
          if (property === 'commitTransaction' || property === 'rollbackTransaction') {
            return async (connection: DatabaseConnection) => {
              try {
                await target[property](connection);
              } finally {
                end(connection);
              }
            };
          }
          const value: unknown = Reflect.get(target, property, receiver);
          return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
        },
      });
    },
  };
}
