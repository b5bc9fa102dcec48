import cluster from 'node:cluster';
import { createServer } from 'node:http';
import { AggregatorRegistry, type Registry } from 'prom-client';
import { listen } from '../listen.js';

/**
 * Under `serve --workers N` (node:cluster), one scrape answers for every worker (issue 18, 2):
 * each worker offers its registry to prom-client's cluster aggregator, and the primary serves
 * `GET /metrics` on `--metrics-port` with the sum.
 */
export function offerWorkerMetrics(registry: Registry): void {
  if (!cluster.isWorker) return;
  // Constructing one installs the worker's answer to the primary's requests (prom-client adds
  // its listeners only then); the registries it answers with are this server's.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([registry]);
}

/** The primary's `--metrics-port` listener: the workers' metrics, aggregated. */
export async function serveClusterMetrics(port: number, host: string): Promise<{ readonly url: string; close(): Promise<void> }> {
  const aggregator = new AggregatorRegistry();
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '/').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics here\n');
      return;
    }
    aggregator.clusterMetrics().then(
      (body) => res.writeHead(200, { 'content-type': aggregator.contentType }).end(body),
      (error: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${error instanceof Error ? error.message : String(error)}\n`),
    );
  });
  const url = await listen(server, port, host, 'http');
  return {
    url: `${url}/metrics`,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}
