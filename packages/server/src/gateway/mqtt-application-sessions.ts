import type { Client } from 'aedes';
import type { ApplicationCredential } from '../domain/management/index.js';
import type { Logger } from '../logger.js';

/** How often the store is asked whether the keys of connected applications are still live. */
export const APPLICATION_KEY_CHECK_INTERVAL_MS = 300;

/**
 * The applications connected to this node and the keys they came with. A key revoked (or its
 * project deleted) through any server sharing the store ends its sessions here within one
 * interval plus a query: issue 20 asks for one second. Each ended session's stored
 * subscriptions are dropped too, so a persistent session of a dead key stops collecting messages.
 */
export class ApplicationSessions {
  private readonly byClient = new Map<Client, ApplicationCredential>();
  private timer: NodeJS.Timeout | undefined;
  private checking = false;

  constructor(
    private readonly liveKeys: (keyIds: readonly string[]) => Promise<Set<string>>,
    private readonly end: (client: Client, credential: ApplicationCredential) => void,
    private readonly logger: Logger,
  ) {}

  add(client: Client, credential: ApplicationCredential): void {
    this.byClient.set(client, credential);
    this.timer ??= setInterval(() => void this.check(), APPLICATION_KEY_CHECK_INTERVAL_MS).unref();
  }

  credentialOf(client: Client): ApplicationCredential | undefined {
    return this.byClient.get(client);
  }

  forget(client: Client): void {
    this.byClient.delete(client);
    if (this.byClient.size === 0) this.stop();
  }

  get size(): number {
    return this.byClient.size;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async check(): Promise<void> {
    if (this.checking || this.byClient.size === 0) return; // a slow store: skip a beat
    this.checking = true;
    try {
      const sessions = [...this.byClient];
      const live = await this.liveKeys([...new Set(sessions.map(([, credential]) => credential.keyId))]);
      for (const [client, credential] of sessions) {
        if (live.has(credential.keyId) || !this.byClient.has(client)) continue;
        this.logger.log('info', 'ending an MQTT application session: its API key was revoked', { projectId: credential.projectId, keyPrefix: credential.keyPrefix, clientId: client.id });
        this.byClient.delete(client);
        this.end(client, credential);
      }
      if (this.byClient.size === 0) this.stop();
    } catch (error) {
      this.logger.log('error', 'checking MQTT application keys failed; retrying', { error: (error as Error).message });
    } finally {
      this.checking = false;
    }
  }
}
