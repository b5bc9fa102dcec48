import { LruMap } from '../../lru-map.js';
import { projectSettingsOf } from '../management/index.js';
import type { ServiceDeps } from '../shared/service-deps.js';

/** What a token request needs of its project's settings (DESIGN §8). */
export interface TokenSettings {
  readonly audiences: readonly string[];
  readonly lifetimeSeconds: number;
}

/**
 * How long a project's token settings are reused. A change through any server's API reaches
 * token issuance on every server within this: the bound the issue route keeps for keys and
 * projects too (key-and-project-cache.ts).
 */
export const TOKEN_SETTINGS_TTL_MS = 1000;
/** Projects whose devices ask for tokens at once; more only cost a read each. */
const MAX_PROJECTS = 10_000;

/**
 * Token settings by project, kept for a second: a device on a kept-alive connection asks for
 * tokens without a new handshake, so nothing else reads its project row on that path, and a
 * store query per token would cost more than signing it. Reads of one project arriving together
 * share the one in flight.
 */
export class TokenSettingsCache {
  private readonly entries = new LruMap<string, { readonly settings: TokenSettings; readonly at: number }>(MAX_PROJECTS);
  private readonly reading = new Map<string, Promise<TokenSettings>>();

  constructor(private readonly deps: ServiceDeps) {}

  of(projectKey: string): TokenSettings | Promise<TokenSettings> {
    const hit = this.entries.peek(projectKey);
    if (hit && performance.now() - hit.at < TOKEN_SETTINGS_TTL_MS) return hit.settings;
    let read = this.reading.get(projectKey);
    if (!read) {
      const started = performance.now();
      read = this.deps.db
        .selectFrom('projects')
        .select('settings')
        .where('id', '=', projectKey)
        .executeTakeFirst()
        .then((row) => {
          // A project deleted since the handshake allows no audience (its connections are being ended).
          const all = projectSettingsOf(row ?? { settings: '{}' });
          const settings: TokenSettings = { audiences: row ? all.tokenAudiences : [], lifetimeSeconds: all.tokenLifetimeSeconds };
          this.entries.set(projectKey, { settings, at: started });
          return settings;
        })
        .finally(() => this.reading.delete(projectKey));
      this.reading.set(projectKey, read);
    }
    return read;
  }
}
