import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { authenticate, requireAdmin } from '../../domain/management/index.js';
import type { ServiceDeps } from '../../domain/shared/index.js';
import type { AppEnv } from '../app-env.js';
import type { AppMetrics } from '../create-app.js';
import { problemResponses, SECURITY } from '../schemas.js';

/**
 * `GET /metrics` on the management port (issue 18, 2): the Prometheus text exposition, for the
 * admin key only (it names projects). `serve --metrics-port` serves the same without a key on a
 * listener of its own, on loopback.
 */
export function metricsRoute(metrics: AppMetrics, deps: ServiceDeps, app: OpenAPIHono<AppEnv>): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/metrics',
      tags: ['operations'],
      summary: 'Prometheus metrics (text exposition format), admin key',
      security: SECURITY,
      responses: { 200: { description: 'the metrics', content: { 'text/plain': { schema: z.string() } } }, ...problemResponses(401, 403) },
    }),
    async (c) => {
      requireAdmin(await authenticate(deps, c.req.header('x-api-key')), 'reading the metrics');
      const { contentType, body } = await metrics.scrape();
      return c.text(body, 200, { 'content-type': contentType });
    },
  );
}
