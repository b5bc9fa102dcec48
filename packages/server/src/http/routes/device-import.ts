import { z, type OpenAPIHono } from '@hono/zod-openapi';
import { importDevices, importStopped, projectForPrincipal, type ImportRow, type ImportRowResult, type ImportSummary } from '../../domain/management/index.js';
import type { ServiceDeps } from '../../domain/shared/index.js';
import { ServiceError } from '../../service-error.js';
import type { AppEnv } from '../app-env.js';
import { importFormatOf, importRows, MAX_IMPORT_BYTES, MAX_IMPORT_ROWS } from '../device-import-rows.js';
import { problemResponses, ProjectIdParam, SECURITY } from '../schemas.js';
import { validationFailure } from '../validation-failure.js';

export const DEVICE_IMPORT_PATH = /^\/v1\/projects\/[^/]+\/devices\/import$/;

const ImportQuery = z.object({
  report: z.enum(['all', 'problems']).default('all').openapi({ description: 'all: a line per row; problems: only invalid and conflicting rows (and progress per batch)' }),
});

const NDJSON = 'application/x-ndjson';

/**
 * `POST /v1/projects/{p}/devices/import` (issue 19, 2): NDJSON or CSV in, streamed both ways —
 * rows are read, imported a batch at a time and answered as NDJSON while the body still
 * arrives, so a million rows never sit in memory. The answer is 200 once the body's first row
 * could be read: per row `{line, name, result, deviceId?, code?, message?}`, after each batch
 * `{progress: {...}}`, and last `{summary: {...}}` (or `{error, summary}` if the body was cut off).
 */
export function deviceImportRoutes(deps: ServiceDeps, app: OpenAPIHono<AppEnv>): void {
  // Documented like every route, served as a plain one: its answer is a stream, which the typed
  // route helpers do not model (they read application/x-ndjson as a JSON type).
  app.openAPIRegistry.registerPath({
    method: 'post',
    path: '/v1/projects/{projectId}/devices/import',
    tags: ['devices'],
    summary: `Pre-provision devices in bulk from NDJSON or CSV (at most ${MAX_IMPORT_ROWS} rows, ${MAX_IMPORT_BYTES} bytes), idempotent on name`,
    security: SECURITY,
    request: {
      params: ProjectIdParam,
      query: ImportQuery,
      body: {
        required: true,
        content: {
          'application/x-ndjson': { schema: z.string().openapi({ description: 'one {"name": …, "certificateId": …} per line' }) },
          'text/csv': { schema: z.string().openapi({ description: 'a header naming name and/or certificate_id (the manifest.csv of fleetpki devices generate), then a row per device' }) },
        },
      },
    },
    responses: {
      200: { description: 'one NDJSON line per row (or per problem row), progress per batch, a summary last', content: { 'application/x-ndjson': { schema: z.string() } } },
      ...problemResponses(400, 401, 403, 404, 413, 415),
    },
  });
  app.post('/v1/projects/:projectId/devices/import', async (c) => {
    const format = importFormatOf(c.req.header('content-type'));
    if (!format) throw new ServiceError('UNSUPPORTED_MEDIA_TYPE', `send the rows as ${NDJSON} or text/csv`);
    const declared = Number(c.req.header('content-length'));
    if (Number.isFinite(declared) && declared > MAX_IMPORT_BYTES) throw new ServiceError('BODY_TOO_LARGE', `an import is at most ${MAX_IMPORT_BYTES} bytes: split it`, { maxBytes: MAX_IMPORT_BYTES });
    const project = await projectForPrincipal(deps, c.var.principal, c.req.param('projectId'));
    const query = ImportQuery.safeParse(c.req.query());
    if (!query.success) throw validationFailure(query.error.issues);
    const { report } = query.data;
    const rows = importRows(c.req.raw.body, format);
    // The first row is read before answering, so a body that is wrong from its first line (a
    // CSV header that names no column) is a problem document, not a 200 with an error in it.
    const first = await rows.next();
    const results = importDevices(deps, c.var.principal, project, prepend(first, rows));
    const encoder = new TextEncoder();
    const line = (value: unknown) => encoder.encode(`${JSON.stringify(value)}\n`);
    const running: { -readonly [K in keyof ImportSummary]: number } = { rows: 0, created: 0, unchanged: 0, conflict: 0, invalid: 0 };
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const next = await results.next();
          if (next.done) {
            controller.enqueue(line({ summary: next.value }));
            controller.close();
            return;
          }
          const shown = report === 'all' ? next.value : next.value.filter((r) => r.result === 'invalid' || r.result === 'conflict');
          for (const result of next.value) count(running, result);
          controller.enqueue(encoder.encode(shown.map((r) => JSON.stringify(r)).join('\n') + (shown.length > 0 ? '\n' : '') + `${JSON.stringify({ progress: running })}\n`));
        } catch (error) {
          controller.enqueue(line({ error: importStopped(error), summary: running }));
          controller.close();
        }
      },
      async cancel() {
        await results.return(undefined as never);
      },
    });
    return c.body(stream, 200, { 'content-type': NDJSON });
  });
}

function count(summary: { -readonly [K in keyof ImportSummary]: number }, result: ImportRowResult): void {
  summary.rows += 1;
  summary[result.result] += 1;
}

async function* prepend(first: IteratorResult<ImportRow>, rest: AsyncGenerator<ImportRow>): AsyncGenerator<ImportRow> {
  if (first.done) return;
  yield first.value;
  yield* rest;
}
