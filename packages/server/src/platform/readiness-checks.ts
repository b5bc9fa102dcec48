import { sql, type Kysely } from 'kysely';
import type { KeyToken } from '../domain/authorities/index.js';
import type { SecretSealer } from '../domain/shared/index.js';
import { fetchCfsslCaCertificate } from '../domain/signers/index.js';
import { migrations } from '../store/migrations.js';
import type { Database } from '../store/schema.js';
import type { StoreDialect } from '../store/dialect.js';
import type { ReadinessCheck } from './readiness.js';

/** A remote signer's answer is kept this long: probes come every few seconds from each balancer. */
const SIGNER_ANSWER_TTL_MS = 5000;

export interface ReadinessParts {
  readonly db: Kysely<Database>;
  readonly dialect: StoreDialect;
  /** The SQLite issuance writer thread, when the store is SQLite. */
  readonly writer: { readonly alive: boolean } | undefined;
  readonly sealer: SecretSealer;
  readonly keyToken: KeyToken | undefined;
}

/**
 * What `/readyz` asks (issue 18, 3): the store answers a query, its migrations are at head, the
 * issuance writer thread is alive, the master key seals and opens, the PKCS#11 token answers,
 * and so does every remote (cfssl) signer an active managed CA uses.
 */
export function readinessChecks(parts: ReadinessParts): ReadinessCheck[] {
  const known = Object.keys(migrations(parts.dialect)).length;
  const signerAnswers = new Map<string, { at: number; answer: Promise<void> }>();
  const checks: ReadinessCheck[] = [
    { name: 'store', run: async () => void (await sql`select 1`.execute(parts.db)) },
    {
      name: 'migrations',
      async run() {
        const row = await parts.db
          .selectFrom('fleetpki_migrations' as never)
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow();
        const applied = Number((row as { n: number }).n);
        if (applied !== known) throw new Error(`${applied} of this server's ${known} migrations are applied`);
      },
    },
    {
      name: 'masterKey',
      run() {
        const probe = Buffer.from('readyz');
        const opened = parts.sealer.openBytes(parts.sealer.sealBytes(probe, 'readyz'), 'readyz');
        if (!opened.ok || !opened.value.equals(probe)) throw new Error('the master key does not open what it sealed');
        return Promise.resolve();
      },
    },
    {
      name: 'remoteSigners',
      async run() {
        const rows = await parts.db.selectFrom('managed_cas').select('remote_url').where('key_storage', '=', 'remote').where('status', '=', 'active').execute();
        const urls = [...new Set(rows.map((r) => r.remote_url).filter((url): url is string => url !== null))];
        await Promise.all(
          urls.map((url) => {
            let cached = signerAnswers.get(url);
            if (!cached || Date.now() - cached.at > SIGNER_ANSWER_TTL_MS) {
              cached = { at: Date.now(), answer: fetchCfsslCaCertificate(url).then(() => undefined) };
              cached.answer.catch(() => signerAnswers.delete(url));
              signerAnswers.set(url, cached);
            }
            return cached.answer.catch((error: unknown) => {
              throw new Error(`the signer at ${url} does not answer: ${error instanceof Error ? error.message : String(error)}`);
            });
          }),
        );
      },
    },
  ];
  if (parts.writer) {
    const writer = parts.writer;
    checks.push({
      name: 'issuanceWriter',
      run: () => (writer.alive ? Promise.resolve() : Promise.reject(new Error('the issuance writer thread has stopped'))),
    });
  }
  if (parts.keyToken) {
    const token = parts.keyToken;
    checks.push({
      name: 'pkcs11Token',
      run: () => {
        token.ping();
        return Promise.resolve();
      },
    });
  }
  return checks;
}
