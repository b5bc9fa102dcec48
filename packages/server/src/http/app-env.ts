import type { Principal } from '../domain/shared/index.js';

/** What a request carries between middleware and handlers. */
export interface AppEnv {
  Variables: {
    principal: Principal;
    requestId: string;
  };
}
