/** The two stores fleetpki speaks: the embedded default and the shared one. */
export type StoreDialect = 'sqlite' | 'postgres';
