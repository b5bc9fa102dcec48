import { chmodSync, closeSync, fstatSync, openSync } from 'node:fs';

/** Group and others: none of these bits on a file of the store. */
const GROUP_OR_OTHERS = 0o077;

/**
 * Creates a store file 0600 before SQLite opens it (SQLite would create it 0644, and gives its
 * -wal and -shm files the database file's mode), or tightens one an older version made 0644:
 * the file is ours, and its contents were never meant for anyone else.
 */
export function createPrivateFile(path: string): void {
  const fd = openSync(path, 'a', 0o600);
  try {
    if ((fstatSync(fd).mode & GROUP_OR_OTHERS) !== 0) chmodSync(path, 0o600);
  } finally {
    closeSync(fd);
  }
}
