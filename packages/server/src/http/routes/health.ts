import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Readiness } from '../../platform/readiness.js';
import type { AppEnv } from '../app-env.js';
import { jsonResponse } from '../route-helpers.js';

const CheckSchema = z.object({ ok: z.boolean(), latencyMs: z.number(), error: z.string().optional() }).openapi('ReadinessCheck');
const ReadinessSchema = z
  .object({
    ready: z.boolean(),
    draining: z.boolean().openapi({ description: 'the server was asked to stop: requests in flight finish, new work goes elsewhere' }),
    checks: z.record(z.string(), CheckSchema).openapi({ description: 'store, migrations, masterKey, remoteSigners, issuanceWriter (SQLite), pkcs11Token (when configured)' }),
  })
  .openapi('Readiness');

/**
 * Liveness and readiness for load balancers and orchestrators (issue 18, 3), without a key:
 * `/healthz` answers while the event loop does; `/readyz` is 200 only when every check passes and
 * the server is not draining, else 503, with each check and its latency either way.
 */
export function healthRoutes(readiness: Readiness, app: OpenAPIHono<AppEnv>): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/healthz',
      tags: ['operations'],
      summary: 'Liveness: the server’s event loop answers',
      responses: { 200: jsonResponse(z.object({ status: z.literal('ok') }).openapi('Liveness'), 'alive') },
    }),
    (c) => c.json({ status: 'ok' as const }, 200),
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/readyz',
      tags: ['operations'],
      summary: 'Readiness: the store, migrations, issuance writer, master key, PKCS#11 token and remote signers answer, and the server is not draining',
      responses: { 200: jsonResponse(ReadinessSchema, 'ready'), 503: jsonResponse(ReadinessSchema, 'not ready, or draining') },
    }),
    async (c) => {
      const report = await readiness.report();
      c.header('cache-control', 'no-store');
      return report.ready ? c.json(report, 200) : c.json(report, 503);
    },
  );
}
