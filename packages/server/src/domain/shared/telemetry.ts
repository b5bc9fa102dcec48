/**
 * The domain's port for operational counts (issue 18, 2): what happened, never who — no label a
 * caller passes here names a device or a certificate. The platform implements it with
 * Prometheus (platform/prometheus-metrics.ts); without one, nothing is counted.
 */
export interface Telemetry {
  /** A device authentication's verdict: transport, accepted or refused with its code, and how long the decision took. */
  deviceAuthentication(transport: string, outcome: 'accepted' | 'refused', code: string, seconds: number): void;
  /** Zero-touch provisioning created or associated a device. */
  deviceProvisioned(outcome: string): void;
  /** The integrated PKI issued a certificate, by where its CA key is (sealed, pkcs11, remote), and how long the pipeline took. */
  certificateIssued(mode: string, seconds: number): void;
  /** Authentication events the journal could not keep while the store was failing. */
  auditEventsDropped(count: number): void;
}

export const NO_TELEMETRY: Telemetry = {
  deviceAuthentication: () => {},
  deviceProvisioned: () => {},
  certificateIssued: () => {},
  auditEventsDropped: () => {},
};
