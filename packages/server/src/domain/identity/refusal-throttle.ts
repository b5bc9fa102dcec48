import { LruMap } from '../../lru-map.js';

/** Refusals audited per remote address per window; the rest are counted, not written. */
export const AUDITED_REFUSALS_PER_WINDOW = 20;
export const REFUSAL_WINDOW_MS = 60_000;
/** Bound on addresses tracked: beyond it the oldest is forgotten (and may be audited again). */
export const MAX_TRACKED_ADDRESSES = 10_000;

interface Window {
  start: number;
  audited: number;
  suppressed: number;
}

/**
 * Keeps a peer that hammers the gateway with bad handshakes from growing the audit log without
 * bound: each address gets AUDITED_REFUSALS_PER_WINDOW audit events per window; the next
 * audited refusal of that address carries how many were left out since.
 */
export class RefusalThrottle {
  private readonly windows = new LruMap<string, Window>(MAX_TRACKED_ADDRESSES);

  /** undefined: do not audit this one; otherwise the number of refusals suppressed before it. */
  admit(address: string, now: number): number | undefined {
    let window = this.windows.get(address);
    if (!window || now - window.start >= REFUSAL_WINDOW_MS) {
      const suppressed = window?.suppressed ?? 0;
      window = { start: now, audited: 0, suppressed };
      this.windows.set(address, window);
    }
    if (window.audited >= AUDITED_REFUSALS_PER_WINDOW) {
      window.suppressed++;
      return undefined;
    }
    window.audited++;
    const suppressed = window.suppressed;
    window.suppressed = 0;
    return suppressed;
  }
}
