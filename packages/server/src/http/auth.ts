import type { MiddlewareHandler } from 'hono';
import { authenticate } from '../domain/management/index.js';
import type { ServiceDeps } from '../domain/shared/index.js';
import type { AppEnv } from './app-env.js';

/** `x-api-key` (as Golioth): resolves the caller once; handlers read `c.var.principal`. */
export function requireApiKey(deps: ServiceDeps): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    c.set('principal', await authenticate(deps, c.req.header('x-api-key')));
    await next();
  };
}
