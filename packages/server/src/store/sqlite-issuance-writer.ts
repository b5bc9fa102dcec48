import { Worker } from 'node:worker_threads';
import type { IssuanceRecord, IssuanceRecordSink } from '../domain/issuance/index.js';

/** A batch for the writer thread, or the word to stop. */
export type WriterRequest = { readonly kind: 'commit'; readonly id: number; readonly records: readonly IssuanceRecord[] } | { readonly kind: 'close' };

/** Per record: undefined once committed, else what refused it (an Error does not cross threads with its code). */
export interface WriterReply {
  readonly id: number;
  readonly outcomes: readonly ({ readonly message: string; readonly code?: string } | undefined)[];
}

/** The thread's first word: its connection is open and its statements prepared. */
export const WRITER_READY = 'ready';

/** The writer as the server holds it: a sink, ready once its thread has opened the store. */
export interface SqliteIssuanceWriter extends IssuanceRecordSink {
  /** Settles when the thread is ready; rejects with why it could not start. */
  readonly ready: Promise<void>;
  /** False once the thread has stopped (closed, or failed): readiness reports it. */
  readonly alive: boolean;
}

/** An error from the writer thread, with the store's code kept (the constraint checks read it). */
class StoreWriteError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = 'StoreWriteError';
  }
}

/**
 * Issuance records on SQLite, committed by a thread of their own. better-sqlite3 runs on the
 * thread that calls it, and a commit waits for its fsync (synchronous=FULL): on the request
 * thread every group commit stopped all issuance for the sync's duration (a third of the time
 * under bench:pki). The thread keeps its own connection; the request thread only hands over
 * plain rows and is answered per record.
 */
export function sqliteIssuanceWriter(file: string, onFailure: (error: Error) => void = () => {}): SqliteIssuanceWriter {
  const worker = new Worker(new URL('./sqlite-issuance-writer-thread.js', import.meta.url), { workerData: { file } });
  let started: () => void = () => {};
  let notStarted: (error: Error) => void = () => {};
  const ready = new Promise<void>((resolve, reject) => {
    started = resolve;
    notStarted = reject;
  });
  // Held until ready, so a server that awaits it does not end first.
  ready.catch(() => {});
  const waiting = new Map<number, { readonly count: number; resolve(outcomes: (Error | undefined)[]): void }>();
  let nextId = 0;
  let stopped: Error | undefined;
  const failAll = (error: Error): void => {
    notStarted(error);
    if (!stopped) onFailure(error);
    stopped ??= error;
    for (const [id, batch] of waiting) {
      waiting.delete(id);
      batch.resolve(Array.from({ length: batch.count }, () => error));
    }
  };
  worker.on('message', (reply: WriterReply | typeof WRITER_READY) => {
    if (reply === WRITER_READY) {
      started();
      if (waiting.size === 0) worker.unref();
      return;
    }
    const batch = waiting.get(reply.id);
    if (!batch) return;
    waiting.delete(reply.id);
    batch.resolve(reply.outcomes.map((outcome) => (outcome === undefined ? undefined : new StoreWriteError(outcome.message, outcome.code))));
  });
  worker.on('error', (error) => failAll(error));
  /** Set by close(): the thread's exit is then the stop that was asked for, not a failure to report. */
  let closing = false;
  worker.on('exit', (code) => {
    const error = new Error(closing ? 'the issuance writer thread was closed' : `the issuance writer thread stopped (exit ${code})`);
    if (closing) stopped ??= error;
    failAll(error);
  });
  // Idle, the thread must not keep the process alive; it is referenced while starting and while a batch is out.
  return {
    ready,
    get alive() {
      return stopped === undefined;
    },
    commit(records) {
      if (stopped) return Promise.resolve(records.map(() => stopped));
      const id = nextId++;
      return new Promise((resolve) => {
        if (waiting.size === 0) worker.ref();
        waiting.set(id, {
          count: records.length,
          resolve: (outcomes) => {
            if (waiting.size === 0) worker.unref();
            resolve(outcomes);
          },
        });
        worker.postMessage({ kind: 'commit', id, records } satisfies WriterRequest);
      });
    },
    async close() {
      if (stopped) return;
      closing = true;
      const exited = new Promise<void>((done) => worker.once('exit', () => done()));
      // Held until it has gone, or the process could end first and leave the connection open.
      worker.ref();
      worker.postMessage({ kind: 'close' } satisfies WriterRequest);
      await exited;
    },
  };
}
