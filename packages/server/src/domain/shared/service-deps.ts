import type { Kysely } from 'kysely';
import type { Database } from '../../store/schema.js';
import type { Telemetry } from './telemetry.js';

/** What every domain service needs: the store and a clock (tests move time; nothing reads Date.now directly). */
export interface ServiceDeps {
  readonly db: Kysely<Database>;
  readonly now: () => Date;
  /** Operational counts (metrics); absent, nothing is counted. */
  readonly telemetry?: Telemetry | undefined;
}
