import { decodePem, parseCertificate, prepareIssuer, prepareSignerIssuer, privateKeyFromDer } from '@fleetpki/pki';
import type { Kysely } from 'kysely';
import { LruMap } from '../../lru-map.js';
import { ServiceError } from '../../service-error.js';
import type { Database, ManagedCasTable, ProjectRow } from '../../store/schema.js';
import type { CaKeyVault } from './ca-key-vault.js';
import { cfsslCertificateSigner } from '../signers/cfssl-signer.js';
import { localCertificateSigner, type CertificateSigner } from '../signers/certificate-signer.js';
import { profileOf, type IssuanceProfile } from '../issuance/issuance-profile.js';
import type { KeyToken } from './key-token.js';

/** The CA a project issues with right now, ready to sign. */
export interface IssuingCa {
  readonly id: string;
  readonly projectGeneration: number;
  readonly profile: IssuanceProfile;
  readonly signer: CertificateSigner;
  /** Whether its trust-anchor entry is enabled: a CA the project switched off issues nothing. */
  readonly anchorEnabled: boolean;
  /** Its entry among the project's CA certificates (the inventory's caId for what it issues), when registered. */
  readonly anchorCaId: string | null;
  /** The certificates above it that the server has (its chain, DER, nearest first): EST cacerts, CMP extraCerts and caPubs. */
  readonly chainAbove: readonly Buffer[];
}

/** Bound on projects whose signer is kept ready (each holds one opened key). */
export const MAX_CACHED_ISSUING_CAS = 10_000;

/**
 * The issuing CA of each project, opened once: the key unsealed (or the token's signer found)
 * and the certificate checked against it. Keyed by the project's ca_generation, which every
 * CA change bumps in its own transaction (activation, anchor disable or delete), so a change
 * made through any server sharing the store is seen at the next issuance.
 */
export class IssuingCaCache {
  private readonly entries = new LruMap<string, IssuingCa>(MAX_CACHED_ISSUING_CAS);
  /** Signers by managed CA id, for what any active CA (not only the newest) signs: its CRL and OCSP answers. */
  private readonly byId = new LruMap<string, { readonly activatedAt: string | null; readonly signer: CertificateSigner }>(MAX_CACHED_ISSUING_CAS);

  constructor(
    private readonly db: Kysely<Database>,
    private readonly vault: CaKeyVault,
    private readonly keyToken: KeyToken | undefined,
  ) {}

  async forProject(project: ProjectRow): Promise<IssuingCa> {
    const generation = Number(project.ca_generation);
    const cached = this.entries.get(project.id);
    if (cached && cached.projectGeneration === generation) return cached;
    // The CA activated last is the one that issues; older ones stay trusted until removed.
    const row = await this.db
      .selectFrom('managed_cas')
      .selectAll()
      .where('project_id', '=', project.id)
      .where('status', '=', 'active')
      .orderBy('activated_at', 'desc')
      .orderBy('id', 'desc')
      .executeTakeFirst();
    if (!row) {
      throw new ServiceError('PKI_NOT_CONFIGURED', `project ${JSON.stringify(project.slug)} has no active managed CA (POST /v1/projects/${project.slug}/pki/cas)`, { projectId: project.slug });
    }
    const anchor = row.ca_certificate_id
      ? await this.db.selectFrom('ca_certificates').select('enabled').where('id', '=', row.ca_certificate_id).executeTakeFirst()
      : undefined;
    const reused = cached?.id === row.id ? cached.signer : undefined;
    const entry: IssuingCa = {
      id: row.id,
      projectGeneration: generation,
      profile: profileOf(row),
      signer: reused ?? this.open(row),
      anchorEnabled: anchor?.enabled === 1,
      anchorCaId: row.ca_certificate_id ?? null,
      chainAbove: row.chain_pem ? decodePem(row.chain_pem).map((block) => block.der) : [],
    };
    this.entries.set(project.id, entry);
    return entry;
  }

  /** An active managed CA by id, with its project and signer; undefined when there is none (or it is pending). */
  async managedCa(caId: string): Promise<{ readonly row: ManagedCasTable; readonly signer: CertificateSigner } | undefined> {
    const row = await this.db.selectFrom('managed_cas').selectAll().where('id', '=', caId).where('status', '=', 'active').executeTakeFirst();
    if (!row) return undefined;
    const cached = this.byId.get(caId);
    if (cached && cached.activatedAt === row.activated_at) return { row, signer: cached.signer };
    const signer = this.open(row);
    this.byId.set(caId, { activatedAt: row.activated_at, signer });
    return { row, signer };
  }

  /** Every active managed CA, for matching an OCSP request's issuer hashes. */
  async activeManagedCas(): Promise<ManagedCasTable[]> {
    return this.db.selectFrom('managed_cas').selectAll().where('status', '=', 'active').execute();
  }

  private open(row: ManagedCasTable): CertificateSigner {
    if (!row.certificate_der) throw new Error(`active managed CA ${row.id} has no certificate`);
    const certificate = parseCertificate(Buffer.from(row.certificate_der));
    switch (row.key_storage) {
      case 'sealed': {
        if (!row.sealed_key) throw new Error(`managed CA ${row.id} has no sealed key`);
        const key = privateKeyFromDer(this.vault.open(Buffer.from(row.sealed_key), row.id), 'pkcs8').key;
        return localCertificateSigner('sealed', prepareIssuer(certificate, key));
      }
      case 'pkcs11': {
        if (!this.keyToken || !row.pkcs11_label) {
          throw new ServiceError('CA_KEY_UNAVAILABLE', `managed CA ${row.id} keeps its key in a PKCS#11 token and this server has none configured`, { caId: row.id });
        }
        return localCertificateSigner('pkcs11', prepareSignerIssuer(certificate, this.keyToken.signer(row.pkcs11_label)));
      }
      case 'remote':
        if (!row.remote_url) throw new Error(`managed CA ${row.id} has no remote signer URL`);
        return cfsslCertificateSigner(row.remote_url, row.remote_profile, certificate);
    }
  }
}
