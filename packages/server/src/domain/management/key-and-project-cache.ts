import { LruMap } from '../../lru-map.js';

/**
 * How long a read of an API key with its project is reused by the issue route. A change made
 * through this process's management API forgets every entry at once; one made through another
 * server or `--workers` sibling sharing the store (a key revoked, a project's settings changed)
 * takes effect there within this — the bound device revocation keeps across servers too.
 */
export const KEY_AND_PROJECT_TTL_MS = 1000;
/** Keys in use at once by factory lines; more entries only cost a read each. */
const MAX_ENTRIES = 1024;

/**
 * The key-and-project reads of the issue route, kept for a second. Under bench:pki the read
 * was a fifth of the server's CPU per certificate (about 80 µs: the store's read connection
 * starts a read transaction against a WAL the issuance writer thread is appending to), for a
 * row that changes a few times a year. Only found keys are kept (a wrong key is read every
 * time, so guessing fills nothing), and a read that began before a change is not kept after it.
 */
export class KeyAndProjectCache<Row> {
  private entries = new LruMap<string, { readonly row: Row; readonly at: number }>(MAX_ENTRIES);
  private epoch = 0;

  constructor(private readonly now: () => number = () => performance.now()) {}

  async read(key: string, load: () => Promise<Row | undefined>): Promise<Row | undefined> {
    const hit = this.entries.peek(key);
    const now = this.now();
    if (hit && now - hit.at < KEY_AND_PROJECT_TTL_MS) return hit.row;
    const epoch = this.epoch;
    const row = await load();
    if (row !== undefined && epoch === this.epoch) this.entries.set(key, { row, at: now });
    return row;
  }

  /** Forgets every entry, and any read under way: called after each change through this process's API. */
  forget(): void {
    this.entries = new LruMap(MAX_ENTRIES);
    this.epoch += 1;
  }
}
