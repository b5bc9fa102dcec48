import type { IssuanceRecord, IssuanceRecordSink } from './issuance-record-sink.js';

export type { IssuanceRecord } from './issuance-record-sink.js';

/** Bound on records committed in one transaction. */
export const MAX_RECORDS_PER_COMMIT = 512;

/**
 * The longest the first record of a batch waits for the issuances still on their way (see
 * `enter`). Without the wait the first certificate of every burst got a commit of its own
 * (bench:pki: 0.48 of cfssl with a fixed 2 ms window, 0.57 with 10 ms).
 */
export const GROUP_COMMIT_WINDOW_MS = 10;

/**
 * Records issued certificates with group commit: concurrent issuances share one transaction
 * (one fsync on SQLite), and each caller is answered only after the transaction holding its
 * record has committed — so no certificate leaves the server unrecorded, and the store's sync
 * rate does not cap issuance (one commit per certificate did, as the authentication journal found).
 * A record the store refuses fails alone (issuance-record-sink.ts).
 */
export class IssuanceRecorder {
  private queue: { record: IssuanceRecord; done: (error?: Error) => void }[] = [];
  /** The commit on its way, if any: the next batch waits for it. */
  private committing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  /** Issuances in this process that have started and not yet recorded or failed. */
  private onTheirWay = 0;

  constructor(private readonly sink: IssuanceRecordSink) {}

  /** An issuance has started: a batch waits for it (up to the window) rather than commit without it. */
  enter(): void {
    this.onTheirWay++;
  }

  /** An issuance that will record nothing here (refused, or recorded in its own transaction). */
  leave(): void {
    this.onTheirWay--;
    this.maybeFlush();
  }

  /** Records one issuance (its `enter` ends here); resolves once the commit holding it is done. */
  record(record: IssuanceRecord): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.onTheirWay--;
      this.queue.push({ record, done: (error) => (error === undefined ? resolve() : reject(error)) });
      this.maybeFlush();
    });
  }

  /** Waits for the records already handed over, then lets the sink go. */
  async close(): Promise<void> {
    while (this.committing || this.queue.length > 0) await (this.committing ?? this.flush());
    await this.sink.close();
  }

  /**
   * When to commit: after the current turn of the event loop (an issuance runs from its request
   * to its record without real I/O, so requests that arrived together reach here in the same
   * turn and share the commit); then at once if no other issuance is on its way (a lone factory
   * line waits for nothing), else when the last arrives or the window ends.
   */
  private maybeFlush(): void {
    if (this.committing || this.queue.length === 0) return;
    if (this.queue.length >= MAX_RECORDS_PER_COMMIT) {
      void this.flush();
      return;
    }
    this.immediate ??= setImmediate(() => {
      this.immediate = undefined;
      if (this.committing || this.queue.length === 0) return;
      if (this.onTheirWay <= 0) void this.flush();
      else this.timer ??= setTimeout(() => void this.flush(), GROUP_COMMIT_WINDOW_MS);
    });
  }

  private flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.committing ??= this.commitBatch().finally(() => {
      this.committing = undefined;
      // Records that came while the last commit ran wait for their companions too.
      this.maybeFlush();
    });
    return this.committing;
  }

  /** Commits the oldest batch and answers each of its callers; never rejects. */
  private async commitBatch(): Promise<void> {
    if (this.queue.length === 0) return;
    const batch = this.queue.splice(0, MAX_RECORDS_PER_COMMIT);
    let outcomes: readonly (Error | undefined)[];
    try {
      outcomes = await this.sink.commit(batch.map((b) => b.record));
    } catch (error) {
      outcomes = batch.map(() => (error instanceof Error ? error : new Error('the issuance record was not stored')));
    }
    batch.forEach((item, i) => item.done(outcomes[i]));
  }
}
