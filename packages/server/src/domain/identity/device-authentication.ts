import {
  attributeValues,
  deviceIdentityFromSubject,
  isValidProjectSlug,
  Oid,
  fingerprintSha256,
  formatSubjectString,
  isPkiError,
  parseCertificate,
  SignatureCache,
  verifyDevicePath,
  assertDeviceCertificatePolicy,
  type DeviceIdentity,
  type Certificate,
  type PkiErrorContext,
} from '@fleetpki/pki';
import type { AuthenticationJournal } from './authentication-journal.js';
import type { ProjectRow } from '../../store/schema.js';
import type { ProjectAnchorCache } from './project-anchors.js';
import { RefusalThrottle } from './refusal-throttle.js';
import { sightingOf, ValidatedChainCache, type ValidatedChain } from './validated-chains.js';
import { LruMap } from '../../lru-map.js';
import type { ServiceDeps } from '../shared/service-deps.js';
import { preparedQuery } from '../../store/prepared-query.js';
import { provisionDevice } from './zero-touch-provisioning.js';
import { disabledDevice } from '../management/devices.js';
import { projectSettingsOf, renewAfterOf } from '../management/index.js';
import { serialNumberText, type PathMember, type ProjectRevocations, type RevocationSets } from '../revocation/index.js';
import type { CertificateAuthenticatedDevice, CertificateRenewal, ConnectionFacts, DeviceAuthFailureCode, DeviceAuthResult, DeviceRefusal, HandshakeFailure, StaleCrlFacts, SupersededFacts } from './identity-types.js';
import { NO_TELEMETRY } from '../shared/telemetry.js';

/**
 * A device certificate's renewAfter under its project's settings and the forced renewals that
 * cover its device or a CA of its path: the one computation the handshake and the MQTT renewal
 * notice share.
 */
function renewAfterFor(
  project: ProjectRow,
  revocations: ProjectRevocations,
  certificate: { fingerprintSha256: string; notBefore: number; notAfter: number; deviceId: string; path: readonly PathMember[]; anchorCaId: string },
): string {
  return renewAfterOf(certificate, projectSettingsOf(project), revocations.renewalRequestedAt(certificate.deviceId, certificate.path, certificate.anchorCaId));
}

/** Bound on certificates taken from one handshake: real device chains hold two or three. */
export const MAX_PEER_CHAIN = 8;

/**
 * Bound on the issuer names and intermediate path members remembered chains share: one each per
 * CA devices chain through, so a million chains under a handful of CAs hold a handful of copies.
 */
const MAX_SHARED_CA_FACTS = 10_000;

/**
 * The one device-identity service every transport calls (DESIGN §1, §3, §4): from the chain a
 * peer sent (leaf first; the TLS stack has already checked that the peer holds the leaf's key),
 * find the project from the subject's O, validate the chain against that project's enabled CA
 * certificates, provision the device with zero touch, and audit the outcome either way.
 */
export class DeviceAuthenticator {
  constructor(
    private readonly deps: ServiceDeps,
    private readonly anchors: ProjectAnchorCache,
    private readonly journal: AuthenticationJournal,
    private readonly revocations: RevocationSets,
    /** Chains remembered per process (`--validated-chain-cache`). */
    validatedChains?: number,
  ) {
    const readProject = preparedQuery(deps.db, ['slug'], (db, p) => db.selectFrom('projects').selectAll().where('slug', '=', p.slug));
    // Handshakes of one project arriving together share the read in flight rather than each
    // starting its own: a storm of a project's devices is one query at a time, not hundreds.
    // A caller gets a read that started at most one query's duration before it arrived.
    const reading = new Map<string, Promise<ProjectRow | undefined>>();
    this.projectBySlug = ({ slug }) => {
      let read = reading.get(slug);
      if (!read) {
        read = readProject({ slug }).finally(() => reading.delete(slug));
        reading.set(slug, read);
      }
      return read;
    };
    this.validated = new ValidatedChainCache(validatedChains);
  }

  private readonly projectBySlug: (values: { slug: string }) => Promise<ProjectRow | undefined>;
  private readonly validated: ValidatedChainCache;
  /** Issuer names and intermediates' path members, shared by the remembered chains that name them. */
  private readonly issuerNames = new LruMap<string, string>(MAX_SHARED_CA_FACTS);
  private readonly intermediateMembers = new LruMap<string, PathMember>(MAX_SHARED_CA_FACTS);
  /** Signatures of the projects' cached anchors and of intermediates already checked (see SignatureCache). */
  private readonly signatures = new SignatureCache();
  private readonly refusals = new RefusalThrottle();

  /** The verdict, counted by transport, outcome and code, and timed from the handshake's end (issue 18, 2). */
  async authenticate(chainDer: readonly Buffer[], facts: ConnectionFacts): Promise<DeviceAuthResult> {
    const started = performance.now();
    const result = await this.decide(chainDer, facts);
    (this.deps.telemetry ?? NO_TELEMETRY).deviceAuthentication(facts.transport, result.ok ? 'accepted' : 'refused', result.ok ? 'OK' : result.code, (performance.now() - started) / 1000);
    return result;
  }

  private async decide(chainDer: readonly Buffer[], facts: ConnectionFacts): Promise<DeviceAuthResult> {
    const [leafDer] = chainDer;
    if (!leafDer) return this.refuse(null, null, 'NO_CLIENT_CERTIFICATE', 'the device presented no client certificate', facts);
    // A device reconnecting with the chain it used before: no parsing, no path building.
    const chainKey = ValidatedChainCache.keyOf(chainDer);
    const knownSlug = this.validated.slugOf(chainKey);
    if (knownSlug !== undefined) {
      const project = await this.projectBySlug({ slug: knownSlug });
      const hit = project ? this.validated.get(chainKey, project, this.deps.now()) : undefined;
      if (project && hit) return this.admit(project, hit, facts, chainDer);
    }
    let leaf: Certificate;
    try {
      leaf = parseCertificate(leafDer);
    } catch (error) {
      if (!isPkiError(error)) throw error;
      return this.refuse(null, null, 'CERT_UNPARSABLE', `the client certificate does not parse: ${error.message}`, facts);
    }
    const intermediates = chainDer.slice(1, MAX_PEER_CHAIN).flatMap((der) => {
      try {
        return [parseCertificate(der)];
      } catch {
        return []; // an unparsable extra certificate is simply no candidate
      }
    });
    // The subject is read once: its O finds the project, its CN is the certificate ID.
    let identity: DeviceIdentity;
    try {
      identity = deviceIdentityFromSubject(leaf.subject);
    } catch (error) {
      if (!isPkiError(error)) throw error;
      // Audited in the project the O names, when it names one.
      return this.refuse((await this.projectNamedBy(leaf))?.id ?? null, leaf, error.code, error.message, facts, error.context);
    }
    const slug = identity.projectSlug;
    const project = await this.projectBySlug({ slug });
    if (!project) return this.refuse(null, leaf, 'UNKNOWN_PROJECT', `no project "${slug}" (the certificate's O)`, facts);
    try {
      assertDeviceCertificatePolicy(leaf);
    } catch (error) {
      if (!isPkiError(error)) throw error;
      return this.refuse(project.id, leaf, error.code, error.message, facts, error.context);
    }

    const anchors = await this.anchors.anchorsFor(project);
    const now = this.deps.now();
    const chain = [leaf, ...intermediates];
    const result = verifyDevicePath({ chain, anchors: anchors.enabled, time: now, signatureCache: this.signatures });
    if (!result.ok) {
      // Say CA_DISABLED when the chain rests on a CA the project has switched off.
      if (result.code === 'UNKNOWN_ISSUER' && anchors.disabled.length > 0 && verifyDevicePath({ chain, anchors: anchors.disabled, time: now, signatureCache: this.signatures }).ok) {
        return this.refuse(project.id, leaf, 'CA_DISABLED', 'the CA certificate this device chains to is disabled in the project', facts);
      }
      return this.refuse(project.id, leaf, result.code, result.message, facts, result.context);
    }
    const anchor = result.path[result.path.length - 1] as Certificate;
    const anchorCaId = anchors.idByFingerprint.get(fingerprintSha256(anchor.der));
    if (anchorCaId === undefined) throw new Error('a validated path ends at an anchor the project does not hold');
    // Each certificate but the anchor, with the project CA that signed it when the project holds
    // it: revocation names certificates by fingerprint or by that CA's serial.
    const leafFingerprint = fingerprintSha256(leaf.der);
    const path: PathMember[] = result.path.slice(0, -1).map((cert, i) => {
      const member: PathMember = {
        fingerprintSha256: i === 0 ? leafFingerprint : fingerprintSha256(cert.der),
        serialNumber: serialNumberText(cert.serialNumber),
        issuerCaId: anchors.idByFingerprint.get(fingerprintSha256((result.path[i + 1] as Certificate).der)) ?? null,
      };
      return i === 0 ? member : this.shared(this.intermediateMembers, `${member.fingerprintSha256}|${member.issuerCaId ?? ''}`, member);
    });
    const issuer = formatSubjectString(leaf.issuer);
    const validated: ValidatedChain = {
      projectKey: project.id,
      caGeneration: Number(project.ca_generation),
      projectSlug: project.slug,
      certificateId: identity.certificateId,
      anchorCaId,
      fingerprintSha256: leafFingerprint,
      notBefore: Math.max(...result.path.map((c) => c.notBefore.getTime())),
      notAfter: Math.min(...result.path.map((c) => c.notAfter.getTime())),
      leafNotBefore: leaf.notBefore.getTime(),
      leafNotAfter: leaf.notAfter.getTime(),
      path,
      issuer: this.shared(this.issuerNames, issuer, issuer),
      subject: formatSubjectString(leaf.subject),
    };
    this.validated.set(chainKey, validated);
    return this.admit(project, validated, facts, chainDer);
  }

  /**
   * For a chain that validated (now, or before and remembered): the revocation check, a probe per
   * certificate against the project's current set, then zero-touch provisioning and the outcome.
   */
  private async admit(project: ProjectRow, validated: ValidatedChain, facts: ConnectionFacts, chainDer: readonly Buffer[]): Promise<DeviceAuthResult> {
    const revocations = this.revocations.peek(project) ?? (await this.revocations.of(project));
    const revoked = revocations.find(validated.path);
    if (revoked) {
      const { certIndex, member, fact } = revoked;
      return this.refuse(project.id, parseCertificate(chainDer[0] as Buffer), 'CERT_REVOKED', `${certIndex === 0 ? 'the device certificate' : `certificate ${certIndex} of the path`} is revoked (${fact.reason}) since ${fact.revokedAt}`, facts, {
        certIndex,
        serialNumber: member.serialNumber,
        revocationDate: fact.revokedAt,
        reason: fact.reason,
      });
    }
    const now = this.deps.now();
    const superseded = revocations.supersededLeaf(validated.fingerprintSha256, now);
    if (superseded) {
      return this.refuse(
        project.id,
        parseCertificate(chainDer[0] as Buffer),
        'CERT_SUPERSEDED',
        `the device has since authenticated with a newer certificate (${superseded.supersededAt}); this one stopped connecting when the ${superseded.gracePeriodSeconds} s grace period ended`,
        facts,
        superseded,
      );
    }
    const stale = revocations.staleCrl(validated.path, now);
    if (stale) {
      return this.refuse(project.id, parseCertificate(chainDer[0] as Buffer), 'CRL_STALE', `the CRL in force for CA certificate ${stale.caId} is past its nextUpdate (${stale.nextUpdate ?? 'none'}) and project ${project.slug} refuses its devices meanwhile`, facts, stale);
    }
    const { device, outcome } = await provisionDevice(this.deps, this.journal, project, validated.certificateId, {
      transport: facts.transport,
      remoteAddress: facts.remoteAddress ?? null,
      fingerprintSha256: validated.fingerprintSha256,
      caCertificateId: validated.anchorCaId,
    });
    const disabled = disabledDevice(device);
    if (disabled) return { ok: false, ...disabled };
    const sighting = sightingOf(validated, device.id, this.deps.now());
    this.journal.recordSighting(sighting);
    const authGeneration = Number(project.auth_generation);
    const renewAfter = renewAfterFor(project, revocations, {
      fingerprintSha256: validated.fingerprintSha256,
      notBefore: validated.leafNotBefore,
      notAfter: validated.leafNotAfter,
      deviceId: device.id,
      path: validated.path,
      anchorCaId: validated.anchorCaId,
    });
    const last = validated.lastAdmitted?.deref();
    if (
      last &&
      last.deviceId === device.id &&
      last.deviceName === device.name &&
      last.provisioning === outcome &&
      last.authGeneration === authGeneration &&
      last.projectId === project.slug &&
      last.certificate.renewAfter === renewAfter
    ) {
      return { ok: true, device: last };
    }
    const admitted: CertificateAuthenticatedDevice = {
      projectId: project.slug,
      projectKey: project.id,
      certificateId: validated.certificateId,
      deviceId: device.id,
      deviceName: device.name,
      provisioning: outcome,
      anchorCaId: validated.anchorCaId,
      credential: 'certificate',
      fingerprintSha256: validated.fingerprintSha256,
      authGeneration,
      validUntil: validated.notAfter,
      path: validated.path,
      certificate: { fingerprintSha256: validated.fingerprintSha256, notAfter: sighting.notAfter, renewAfter },
      certificateNotBefore: validated.leafNotBefore,
    };
    validated.lastAdmitted = new WeakRef(admitted);
    return { ok: true, device: admitted };
  }

  /** The copy the cache already holds of an equal value, else this one, remembered. */
  private shared<T>(cache: LruMap<string, T>, key: string, value: T): T {
    const known = cache.get(key);
    if (known !== undefined) return known;
    cache.set(key, value);
    return value;
  }

  /**
   * Connected devices' renewal windows as they stand now: the projects' settings and forced
   * renewals may have changed since their handshakes (the MQTT renewal notices read them). One
   * project lookup per project, not per device.
   */
  async currentRenewals(devices: readonly CertificateAuthenticatedDevice[]): Promise<CertificateRenewal[]> {
    const projects = new Map<string, Promise<{ project: ProjectRow; revocations: ProjectRevocations } | undefined>>();
    const lookup = (slug: string) => {
      let pending = projects.get(slug);
      if (!pending) {
        pending = this.projectBySlug({ slug }).then(async (project) => (project ? { project, revocations: this.revocations.peek(project) ?? (await this.revocations.of(project)) } : undefined));
        projects.set(slug, pending);
      }
      return pending;
    };
    return Promise.all(
      devices.map(async (device) => {
        const found = await lookup(device.projectId);
        if (!found) return device.certificate;
        const renewAfter = renewAfterFor(found.project, found.revocations, {
          fingerprintSha256: device.fingerprintSha256,
          notBefore: device.certificateNotBefore,
          notAfter: Date.parse(device.certificate.notAfter),
          deviceId: device.deviceId,
          path: device.path,
          anchorCaId: device.anchorCaId,
        });
        return { ...device.certificate, renewAfter };
      }),
    );
  }

  /**
   * Records a handshake the TLS stack refused after the client sent its certificate (a
   * CertificateVerify that does not verify: the certificate without its key), in the audit log
   * of the project the certificate names.
   */
  async recordHandshakeFailure(failure: HandshakeFailure, facts: ConnectionFacts): Promise<void> {
    // A CertificateVerify that does not verify is someone presenting a certificate without its key
    // (the TLS stack checks it even though the trust decision is ours).
    const code = failure.signatureFailed ? 'KEY_POSSESSION_NOT_PROVEN' : 'TLS_HANDSHAKE_FAILED';
    const message = failure.signatureFailed
      ? 'the handshake signature does not verify with the certificate’s key: the client does not hold the key'
      : `the ${facts.transport === 'coap' ? 'DTLS' : 'TLS'} handshake failed: ${failure.reason}`;
    const [leafDer] = failure.chain;
    if (!leafDer) return;
    let leaf: Certificate;
    try {
      leaf = parseCertificate(leafDer);
    } catch {
      return; // nothing to attribute it to
    }
    this.refuse((await this.projectNamedBy(leaf))?.id ?? null, leaf, code, message, facts);
  }

  /** The project a subject's single O names, for auditing a refusal of that subject; none when it names none. */
  private async projectNamedBy(leaf: Certificate): Promise<ProjectRow | undefined> {
    const orgs = attributeValues(leaf.subject, Oid.organizationName);
    const slug = orgs.length === 1 ? (orgs[0] as string) : undefined;
    return slug !== undefined && isValidProjectSlug(slug) ? await this.projectBySlug({ slug }) : undefined;
  }

  private refuse(projectId: string | null, leaf: Certificate | null, code: DeviceAuthFailureCode, message: string, facts: ConnectionFacts, context?: PkiErrorContext | StaleCrlFacts | SupersededFacts): DeviceRefusal {
    const refusal: DeviceRefusal = context ? { ok: false, code, message, context } : { ok: false, code, message };
    const suppressedBefore = this.refusals.admit(facts.remoteAddress ?? 'unknown', this.deps.now().getTime());
    if (suppressedBefore === undefined) return refusal;
    const fingerprint = leaf ? fingerprintSha256(leaf.der) : null;
    this.journal.record({
      at: this.deps.now(),
      entry: {
        actor: 'device',
        action: 'device.authentication-failed',
        targetType: 'certificate',
        targetId: fingerprint ?? 'none',
        projectId,
        details: {
          code,
          message,
          transport: facts.transport,
          remoteAddress: facts.remoteAddress ?? null,
          subject: leaf ? formatSubjectString(leaf.subject) : null,
          ...(context ? { facts: context } : {}),
          ...(suppressedBefore > 0 ? { suppressedBefore } : {}),
        },
      },
    });
    return refusal;
  }
}
