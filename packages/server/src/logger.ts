/** Structured logs: one JSON object per line on stdout, so any collector can parse them. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  log(level: LogLevel, msg: string, fields?: Readonly<Record<string, unknown>>): void;
}

/** Every logger's pending lines, written when the process exits (one listener for all of them). */
const flushOnExit = new Set<() => void>();
let exitHooked = false;

/**
 * Lines logged in one turn of the event loop are written together, at its end or when the
 * process exits: with stdout a file, each line was a write system call of its own, as much as
 * the rest of a request's bookkeeping on the issuance path.
 */
export function jsonLogger(write: (text: string) => void = (text) => process.stdout.write(text)): Logger {
  let pending = '';
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    if (pending === '') return;
    const text = pending;
    pending = '';
    try {
      write(text);
    } catch {
      // A log that cannot be written (stdout closed) must not take the server down with it.
    }
  };
  flushOnExit.add(flush);
  if (!exitHooked) {
    exitHooked = true;
    process.once('exit', () => {
      for (const pendingFlush of flushOnExit) pendingFlush();
    });
  }
  return {
    log(level, msg, fields = {}) {
      pending += `${JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })}\n`;
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
  };
}

/** For tests and embedding: keeps nothing. */
export const silentLogger: Logger = { log() {} };
