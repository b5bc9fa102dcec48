import type { Compilable, CompiledQuery, Kysely } from 'kysely';
import { sqliteReaderFor } from './sqlite-reader.js';

/**
 * A query Kysely builds and compiles once, run many times with new parameter values. The
 * device gateway reads the same two rows on every handshake; building and compiling their
 * query each time made more garbage than the rest of an authentication (and garbage made
 * during 5,000 handshakes stays in the heap's and malloc's high-water marks).
 *
 * On SQLite the statement runs on the store's read-only connection (sqlite-reader.ts).
 *
 * `build` receives placeholder values and must pass each to the query exactly once; `run`
 * puts the real values in their places.
 */
export function preparedQuery<DB, Row, Name extends string>(
  db: Kysely<DB>,
  names: readonly Name[],
  build: (db: Kysely<DB>, placeholders: Readonly<Record<Name, string>>) => Compilable<Row>,
): (values: Readonly<Record<Name, unknown>>) => Promise<Row | undefined> {
  const placeholders = Object.fromEntries(names.map((name) => [name, `\u0000${name}\u0000`])) as Record<Name, string>;
  const compiled = build(db, placeholders).compile();
  const positions = compiled.parameters.map((value) => {
    const name = names.find((n) => placeholders[n] === value);
    if (name === undefined) throw new Error(`preparedQuery: a parameter of "${compiled.sql}" is not a placeholder`);
    return name;
  });
  for (const name of names) {
    if (positions.filter((p) => p === name).length !== 1) throw new Error(`preparedQuery: placeholder ${name} must be used exactly once`);
  }
  const reader = sqliteReaderFor(db);
  if (reader) {
    const statement = reader.prepare(compiled.sql);
    return (values) => Promise.resolve(statement.get(positions.map((name) => values[name])) as Row | undefined);
  }
  return async (values) => {
    const query: CompiledQuery<Row> = { ...compiled, parameters: positions.map((name) => values[name]) };
    const { rows } = await db.executeQuery(query);
    return rows[0];
  };
}

/**
 * A prepared query made once per store, for module-level reads called with only `deps.db` at
 * hand: the first call for a store prepares it, later ones reuse it.
 */
export function perStore<DB, Query>(prepare: (db: Kysely<DB>) => Query): (db: Kysely<DB>) => Query {
  const prepared = new WeakMap<Kysely<DB>, Query>();
  return (db) => {
    let query = prepared.get(db);
    if (query === undefined) {
      query = prepare(db);
      prepared.set(db, query);
    }
    return query;
  };
}
