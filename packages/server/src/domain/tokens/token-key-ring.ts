import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, type JWK } from 'jose';
import type { Selectable } from 'kysely';
import { isUniqueViolation } from '../../store/constraint-violations.js';
import type { TokenSigningKeysTable } from '../../store/schema.js';
import { recordAudit } from '../shared/audit-log.js';
import { actorName, type Principal } from '../shared/principal.js';
import type { SecretSealer } from '../shared/secret-sealer.js';
import type { ServiceDeps } from '../shared/service-deps.js';
import { DEFAULT_TOKEN_KEY_PUBLISH_LEAD_SECONDS, TOKEN_KEY_RETIREMENT_MS, type TokenKeyState } from './token-key-schedule.js';

/** The JWS algorithm of every device token (RFC 7518 §3.4): ECDSA P-256, the key the gateway's own TLS uses too. */
export const TOKEN_SIGNING_ALG = 'ES256';

/**
 * How often a server re-reads the keys, so a rotation made by another server sharing the store
 * is seen: far below the publish lead, so the new key is known here long before it signs.
 */
export const TOKEN_KEY_REFRESH_MS = 5_000;

/**
 * A key made because none signs (the first one) signs at once; it is dated this far back so a
 * server whose clock runs a little behind the one that made it does not see it as not yet active.
 */
const IMMEDIATE_KEY_BACKDATE_MS = 60_000;

/** Binds a sealed private key to its key id: a sealed value copied onto another row does not open. */
export function tokenKeySealContext(kid: string): string {
  return `token-signing-key:${kid}`;
}

/** A signing key as the admin route lists it (never its private half). */
export interface TokenKeyView {
  readonly kid: string;
  readonly sequence: number;
  readonly state: TokenKeyState;
  readonly createdAt: string;
  /** From when it signs; published in the JWKS from createdAt. */
  readonly activatesAt: string;
  /** When a newer key took over (it signs no more from then); null while none has. */
  readonly supersededAt: string | null;
  /** When it leaves the JWKS: its last token has expired by then. */
  readonly retiresAt: string | null;
  readonly publicJwk: Readonly<JWK>;
}

/** What signs a token: the private key, opened once per process, and the kid its header names. */
export interface SigningKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
}

interface LoadedKey {
  readonly row: Selectable<TokenSigningKeysTable>;
  readonly activatesAt: number;
  readonly supersededAt: number | null;
  readonly retiresAt: number | null;
  readonly publicJwk: JWK;
  privateKey?: KeyObject;
}

const msOf = (at: string | null): number | null => (at === null ? null : Date.parse(at));

function stateOf(key: LoadedKey, now: number): TokenKeyState {
  if (key.retiresAt !== null && key.retiresAt <= now) return 'retired';
  if (now < key.activatesAt) return 'pending';
  if (key.supersededAt !== null && key.supersededAt <= now) return 'retiring';
  return 'active';
}

/** The key that signs at `now`: active, and of those (a first key made in a race) the latest to activate. */
function activeOf(keys: readonly LoadedKey[], now: number): LoadedKey | undefined {
  let chosen: LoadedKey | undefined;
  for (const key of keys) {
    if (stateOf(key, now) !== 'active') continue;
    if (!chosen || key.activatesAt > chosen.activatesAt || (key.activatesAt === chosen.activatesAt && key.row.sequence > chosen.row.sequence)) chosen = key;
  }
  return chosen;
}

export interface TokenKeyRingOptions {
  /** How long a new key is published before it signs (default DEFAULT_TOKEN_KEY_PUBLISH_LEAD_SECONDS; tests shorten it). */
  readonly publishLeadSeconds?: number | undefined;
  /** How often the keys are re-read from the store (default TOKEN_KEY_REFRESH_MS). */
  readonly refreshMs?: number | undefined;
}

/**
 * The platform's token signing keys (table token_signing_keys, private halves sealed under the
 * master key): which one signs now, the JWKS that publishes them, and rotation. The keys are
 * held in memory and re-read every few seconds in the background, so signing a token costs no
 * store query; a key's state follows from its timestamps and the clock alone, so a key comes
 * into use (or leaves the JWKS) on every server at the same moment without a write.
 */
export class TokenKeyRing {
  private cache: { readonly keys: readonly LoadedKey[]; readonly loadedAt: number } | undefined;
  private loading: Promise<readonly LoadedKey[]> | undefined;
  private readonly publishLeadMs: number;
  private readonly refreshMs: number;

  constructor(
    private readonly deps: ServiceDeps,
    private readonly sealer: SecretSealer,
    options: TokenKeyRingOptions = {},
  ) {
    this.publishLeadMs = (options.publishLeadSeconds ?? DEFAULT_TOKEN_KEY_PUBLISH_LEAD_SECONDS) * 1000;
    this.refreshMs = options.refreshMs ?? TOKEN_KEY_REFRESH_MS;
  }

  /** The key that signs now, making the first one when there is none. */
  async signingKey(): Promise<SigningKey> {
    const now = this.deps.now().getTime();
    const key = activeOf(await this.keys(), now) ?? (await this.ensureActive(now));
    key.privateKey ??= this.open(key.row);
    return { kid: key.row.kid, privateKey: key.privateKey };
  }

  /** RFC 7517 §5: every key a token may carry now or soon — the active one, those waiting to sign and those whose tokens may still be valid. */
  async jwks(): Promise<{ keys: JWK[] }> {
    const now = this.deps.now().getTime();
    let keys = await this.keys();
    if (!activeOf(keys, now)) {
      await this.ensureActive(now);
      keys = await this.keys();
    }
    return { keys: keys.filter((key) => stateOf(key, now) !== 'retired').map((key) => key.publicJwk) };
  }

  /** Every key the store holds, newest first, with its state now. */
  async list(): Promise<TokenKeyView[]> {
    const now = this.deps.now().getTime();
    return [...(await this.reload())].reverse().map((key) => this.view(key, now));
  }

  /**
   * Makes a new key that signs after the publish lead (at once when no key signs now) and marks
   * the keys before it superseded from then, each kept in the JWKS until its tokens have expired.
   * Concurrent rotations each make their own key: the sequence number settles their order.
   */
  async rotate(by: Principal | 'scheduler'): Promise<TokenKeyView> {
    const actor = by === 'scheduler' ? by : actorName(by);
    for (let attempt = 0; ; attempt += 1) {
      const keys = await this.reload();
      const now = this.deps.now();
      const activatesAt = activeOf(keys, now.getTime()) ? new Date(now.getTime() + this.publishLeadMs) : now;
      const row = await this.newKeyRow(keys, now, activatesAt);
      try {
        await this.deps.db.transaction().execute(async (trx) => {
          await trx.insertInto('token_signing_keys').values(row).execute();
          await trx
            .updateTable('token_signing_keys')
            .set({ superseded_at: row.activates_at, retires_at: new Date(activatesAt.getTime() + TOKEN_KEY_RETIREMENT_MS).toISOString() })
            .where('superseded_at', 'is', null)
            .where('kid', '!=', row.kid)
            .execute();
          await recordAudit(trx, now, { actor, action: 'token-key.rotate', targetType: 'token-signing-key', targetId: row.kid, projectId: null, details: { sequence: row.sequence, activatesAt: row.activates_at } });
        });
      } catch (error) {
        if (isUniqueViolation(error) && attempt < 3) continue; // another server took this sequence number: read again
        throw error;
      }
      const made = (await this.reload()).find((key) => key.row.kid === row.kid);
      if (!made) throw new Error(`token signing key ${row.kid} was stored but is not read back`);
      return this.view(made, this.deps.now().getTime());
    }
  }

  /** Deletes keys past their retirement (their tokens have expired), with their sealed private halves. */
  async sweep(): Promise<number> {
    const result = await this.deps.db.deleteFrom('token_signing_keys').where('retires_at', '<=', this.deps.now().toISOString()).executeTakeFirst();
    const deleted = Number(result.numDeletedRows);
    if (deleted > 0) await this.reload();
    return deleted;
  }

  /** The newest key's creation (ms), for the scheduled rotation; undefined before the first key. */
  async newestCreatedAt(): Promise<number | undefined> {
    const newest = (await this.reload()).at(-1);
    return newest ? Date.parse(newest.row.created_at) : undefined;
  }

  /** The cached keys; past the refresh interval they are read again in the background (the old ones serve meanwhile). */
  private async keys(): Promise<readonly LoadedKey[]> {
    const cache = this.cache;
    if (!cache) return this.reload();
    if (performance.now() - cache.loadedAt >= this.refreshMs) this.reload().catch(() => undefined); // the next call tries again
    return cache.keys;
  }

  private reload(): Promise<readonly LoadedKey[]> {
    this.loading ??= (async () => {
      const started = performance.now();
      const rows = await this.deps.db.selectFrom('token_signing_keys').selectAll().orderBy('sequence').execute();
      const opened = new Map((this.cache?.keys ?? []).map((key) => [key.row.kid, key.privateKey]));
      const keys = rows.map((row): LoadedKey => {
        const key: LoadedKey = { row, activatesAt: Date.parse(row.activates_at), supersededAt: msOf(row.superseded_at), retiresAt: msOf(row.retires_at), publicJwk: JSON.parse(row.public_jwk) as JWK };
        const privateKey = opened.get(row.kid);
        if (privateKey) key.privateKey = privateKey;
        return key;
      });
      this.cache = { keys, loadedAt: started };
      return keys;
    })().finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  /**
   * No key signs now: the first start (or every key retired). One server makes one; the unique
   * sequence number keeps two servers from both making it — the loser reads the winner's.
   */
  private async ensureActive(now: number): Promise<LoadedKey> {
    for (let attempt = 0; attempt < 4; attempt += 1) {
      const keys = await this.reload();
      const active = activeOf(keys, now);
      if (active) return active;
      const created = this.deps.now();
      const row = await this.newKeyRow(keys, created, new Date(created.getTime() - IMMEDIATE_KEY_BACKDATE_MS));
      try {
        await this.deps.db.transaction().execute(async (trx) => {
          await trx.insertInto('token_signing_keys').values(row).execute();
          await recordAudit(trx, created, { actor: 'platform', action: 'token-key.create', targetType: 'token-signing-key', targetId: row.kid, projectId: null, details: { sequence: row.sequence } });
        });
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
      }
    }
    throw new Error('no token signing key is active after making one');
  }

  private async newKeyRow(keys: readonly LoadedKey[], now: Date, activatesAt: Date): Promise<Selectable<TokenSigningKeysTable>> {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = await exportJWK(publicKey);
    // RFC 7638 thumbprint: a kid every verifier can recompute from the key itself.
    const kid = await calculateJwkThumbprint(jwk, 'sha256');
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' });
    return {
      kid,
      sequence: (keys.at(-1)?.row.sequence ?? 0) + 1,
      private_key_sealed: this.sealer.sealText(Buffer.from(pem), tokenKeySealContext(kid)),
      public_jwk: JSON.stringify({ ...jwk, kid, alg: TOKEN_SIGNING_ALG, use: 'sig' }),
      created_at: now.toISOString(),
      activates_at: activatesAt.toISOString(),
      superseded_at: null,
      retires_at: null,
    };
  }

  private open(row: Selectable<TokenSigningKeysTable>): KeyObject {
    const opened = this.sealer.openText(row.private_key_sealed, tokenKeySealContext(row.kid));
    // Another master key than the one that sealed it: the operator's configuration, not the device's fault.
    if (!opened.ok) throw new Error(`token signing key ${row.kid} does not open (${opened.failure === 'key' ? 'another master key?' : 'unknown format'})`);
    return createPrivateKey(opened.value);
  }

  private view(key: LoadedKey, now: number): TokenKeyView {
    const { row } = key;
    return {
      kid: row.kid,
      sequence: Number(row.sequence),
      state: stateOf(key, now),
      createdAt: row.created_at,
      activatesAt: row.activates_at,
      supersededAt: row.superseded_at,
      retiresAt: row.retires_at,
      publicJwk: key.publicJwk,
    };
  }
}
