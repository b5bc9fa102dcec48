import type { Client } from 'aedes';
import type { CertificateAuthenticatedDevice, CertificateRenewal } from '../domain/identity/index.js';
import { topicPrefix } from './device-topics.js';

/** How often the windows of subscribed devices are looked at again (a forced renewal, or renewAfter coming). */
export const RENEWAL_NOTICE_INTERVAL_MS = 2000;

/** The topic under a device's prefix where the server tells it to renew (DESIGN §8, issue 17). */
export function renewalTopic(device: Pick<CertificateAuthenticatedDevice, 'projectId' | 'certificateId'>): string {
  return `${topicPrefix(device)}$fleetpki/renewal`;
}

/** The part of a device's prefix the server publishes under; devices may subscribe to it, never publish. */
export function isServerTopic(device: Pick<CertificateAuthenticatedDevice, 'projectId' | 'certificateId'>, topic: string): boolean {
  return topic.startsWith(`${topicPrefix(device)}$fleetpki/`);
}

/**
 * The MQTT renewal notice: a device subscribed to `{projectId}/{certificateId}/$fleetpki/renewal`
 * gets the identity answer's `certificate` JSON as a retained message (RETAIN=1, QoS 0) once its
 * window is open — at once if it already is when it subscribes, else within one interval of
 * `renewAfter` coming or of a forced renewal, while it stays connected; once per subscription.
 * Sent to that connection only, never stored in the broker: a retained copy would outlive the
 * certificate it is about. The windows are read per project, not per device.
 */
export class RenewalNotices {
  private readonly watched = new Map<Client, CertificateAuthenticatedDevice>();
  private timer: NodeJS.Timeout | undefined;
  private checking = false;

  constructor(
    private readonly currentRenewals: (devices: readonly CertificateAuthenticatedDevice[]) => Promise<CertificateRenewal[]>,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** The device subscribed to its renewal topic: notify now, or when its window opens. */
  watch(client: Client, device: CertificateAuthenticatedDevice): void {
    this.watched.set(client, device);
    void this.check([[client, device]]);
    this.timer ??= setInterval(() => void this.check([...this.watched]), RENEWAL_NOTICE_INTERVAL_MS).unref();
  }

  forget(client: Client): void {
    this.watched.delete(client);
    if (this.watched.size === 0) this.stopTimer();
  }

  close(): void {
    this.watched.clear();
    this.stopTimer();
  }

  private stopTimer(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async check(entries: readonly (readonly [Client, CertificateAuthenticatedDevice])[]): Promise<void> {
    if (entries.length > 1 && this.checking) return; // a slow store: skip a beat
    if (entries.length > 1) this.checking = true;
    try {
      const renewals = await this.currentRenewals(entries.map(([, device]) => device));
      const now = Date.now();
      for (const [i, [client, device]] of entries.entries()) {
        const renewal = renewals[i] as CertificateRenewal;
        if (Date.parse(renewal.renewAfter) > now || client.closed || this.watched.get(client) !== device) continue;
        this.forget(client);
        client.publish({ cmd: 'publish', topic: renewalTopic(device), payload: Buffer.from(JSON.stringify(renewal)), qos: 0, retain: true, dup: false }, (error) => {
          if (error) this.onError(error);
        });
      }
    } catch (error) {
      this.onError(error);
    } finally {
      if (entries.length > 1) this.checking = false;
    }
  }
}
