import type { Kysely } from 'kysely';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Telemetry } from '../domain/shared/index.js';
import type { StoreDialect } from '../store/dialect.js';
import type { Database } from '../store/schema.js';

/** What the scrape reads at collection time from the rest of the server. */
export interface MetricSources {
  readonly db: Kysely<Database>;
  readonly dialect: StoreDialect;
  readonly connections: () => Readonly<Record<string, number>>;
  readonly journalPending: () => number;
}

/** Sub-millisecond to seconds: a cached handshake is ~0.1 ms, a first connection with a store write ~10 ms. */
const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/**
 * The server's Prometheus metrics (issue 18, 2), `fleetpki_*` plus the process and event-loop
 * defaults, in a registry of this server's own (several servers may share a process in tests).
 * Labels are bounded: transport, outcome, refusal code, route template, project slug and CA id for
 * the expiry gauge — never a device or a certificate ID.
 */
export class PrometheusMetrics implements Telemetry {
  readonly registry = new Registry();
  private readonly authentications = new Counter({ name: 'fleetpki_device_authentications_total', help: 'Device authentication verdicts, by transport, outcome and refusal code (OK when accepted).', labelNames: ['transport', 'outcome', 'code'], registers: [this.registry] });
  private readonly authenticationSeconds = new Histogram({ name: 'fleetpki_device_authentication_seconds', help: 'From the end of the handshake to the verdict.', labelNames: ['transport'], buckets: LATENCY_BUCKETS, registers: [this.registry] });
  private readonly provisioned = new Counter({ name: 'fleetpki_devices_provisioned_total', help: 'Devices zero-touch provisioning created or associated.', labelNames: ['outcome'], registers: [this.registry] });
  private readonly issued = new Counter({ name: 'fleetpki_certificates_issued_total', help: 'Device certificates issued by the integrated PKI, by where the CA key is (sealed, pkcs11, remote).', labelNames: ['mode'], registers: [this.registry] });
  private readonly issuanceSeconds = new Histogram({ name: 'fleetpki_issuance_seconds', help: 'The issuance pipeline, from request to recorded certificate.', buckets: LATENCY_BUCKETS, registers: [this.registry] });
  private readonly transactionSeconds = new Histogram({ name: 'fleetpki_store_transaction_seconds', help: 'Store transactions, BEGIN to COMMIT or ROLLBACK.', labelNames: ['dialect'], buckets: LATENCY_BUCKETS, registers: [this.registry] });
  private readonly dropped = new Counter({ name: 'fleetpki_audit_events_dropped_total', help: 'Authentication events not kept while the store was failing (each also counted into an audit.events-dropped event).', registers: [this.registry] });
  private readonly admissionRejected = new Counter({ name: 'fleetpki_device_admission_rejected_total', help: 'Device connections refused as they were accepted (a DTLS ClientHello dropped): too many handshakes already in progress (--max-pending-handshakes).', labelNames: ['transport'], registers: [this.registry] });
  private readonly deviceTokens = new Counter({ name: 'fleetpki_device_tokens_issued_total', help: 'Device identity tokens issued at POST /v1/token (RFC 8705), by gateway transport.', labelNames: ['transport'], registers: [this.registry] });
  private readonly httpRequests = new Counter({ name: 'fleetpki_http_requests_total', help: 'Management API requests, by route template and status.', labelNames: ['route', 'status'], registers: [this.registry] });
  private readonly forwardAuthAnswers = new Counter({ name: 'fleetpki_forward_auth_answers_total', help: 'Forward-auth answers to the TLS-terminating proxy, by status and code (OK when the device is accepted).', labelNames: ['status', 'code'], registers: [this.registry] });

  constructor(private readonly sources: MetricSources) {
    collectDefaultMetrics({ register: this.registry });
    // prom-client names three gauges *_total, which the exposition's conventions (and promtool)
    // keep for counters; the same counts stay, by type, in nodejs_active_handles and its kin.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) this.registry.removeSingleMetric(name);
    const { registry } = this;
    new Gauge({
      name: 'fleetpki_device_connections',
      help: 'Authenticated device connections open now, by transport.',
      labelNames: ['transport'],
      registers: [registry],
      collect() {
        for (const [transport, count] of Object.entries(sources.connections())) this.set({ transport }, count);
      },
    });
    new Gauge({
      name: 'fleetpki_journal_pending_events',
      help: 'Authentication events and certificate sightings waiting for the journal’s next write.',
      registers: [registry],
      collect() {
        this.set(sources.journalPending());
      },
    });
    new Gauge({
      name: 'fleetpki_ca_certificate_expiry_timestamp_seconds',
      help: 'When each enabled CA certificate of each project expires (Unix seconds), so an alert can fire before it does.',
      labelNames: ['project', 'ca'],
      registers: [registry],
      async collect() {
        const rows = await sources.db.selectFrom('ca_certificates as c').innerJoin('projects as p', 'p.id', 'c.project_id').select(['p.slug', 'c.id', 'c.not_after']).where('c.enabled', '=', 1).execute();
        this.reset();
        for (const row of rows) this.set({ project: row.slug, ca: row.id }, Math.floor(Date.parse(row.not_after) / 1000));
      },
    });
  }

  deviceAuthentication(transport: string, outcome: 'accepted' | 'refused', code: string, seconds: number): void {
    this.authentications.inc({ transport, outcome, code });
    this.authenticationSeconds.observe({ transport }, seconds);
  }

  deviceAdmissionRejected(transport: string): void {
    this.admissionRejected.inc({ transport });
  }

  deviceProvisioned(outcome: string): void {
    this.provisioned.inc({ outcome });
  }

  certificateIssued(mode: string, seconds: number): void {
    this.issued.inc({ mode });
    this.issuanceSeconds.observe(seconds);
  }

  auditEventsDropped(count: number): void {
    this.dropped.inc(count);
  }

  storeTransaction(seconds: number): void {
    this.transactionSeconds.observe({ dialect: this.sources.dialect }, seconds);
  }

  deviceTokenIssued(transport: string): void {
    this.deviceTokens.inc({ transport });
  }

  httpRequest(route: string, status: number): void {
    this.httpRequests.inc({ route, status: String(status) });
  }

  forwardAuthAnswer(status: number, code: string): void {
    this.forwardAuthAnswers.inc({ status: String(status), code });
  }

  /** The exposition (Prometheus text format 0.0.4). */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
