import { assertCsrSignature, generateKeyPair, isPkiError, parseCsr, parseSubjectPublicKeyInfo, type KeySpec } from '@fleetpki/pki';
import { ServiceError } from '../../service-error.js';
import type { EnrollmentTokensTable, ProjectRow } from '../../store/schema.js';
import type { CertificateAuthenticatedDevice } from '../identity/identity-types.js';
import { projectSettingsOf } from '../management/project-settings.js';
import { fromCoreFailure } from './core-failures.js';
import { issueWithToken, usableTokenProject } from './enrollment-tokens.js';
import { deviceKeyType, type DeviceKeyType } from './issuance-profile.js';
import { issueDeviceCertificateFor, MAX_CSR_BYTES, type IssuedDeviceCertificate } from './issuance-pipeline.js';
import type { PkiDeps } from './pki-deps.js';

/** What serverkeygen hands back: the certificate and the key the server made for it (PKCS#8 DER). */
export interface ServerGeneratedKey {
  readonly issued: IssuedDeviceCertificate;
  readonly privateKeyPkcs8: Buffer;
}

/** Who may have a key made: a one-time token's holder (a new device), or a device by its certificate (a new key). */
export type ServerKeygenEntitlement = { readonly kind: 'token'; readonly token: EnrollmentTokensTable; readonly projectSlug: string | undefined } | { readonly kind: 'device'; readonly device: CertificateAuthenticatedDevice };

const SPEC_BY_TYPE: Readonly<Record<DeviceKeyType, KeySpec>> = {
  'P-256': { kind: 'ec', curve: 'P-256' },
  'P-384': { kind: 'ec', curve: 'P-384' },
  'RSA-2048': { kind: 'rsa', bits: 2048 },
  'RSA-3072': { kind: 'rsa', bits: 3072 },
  'RSA-4096': { kind: 'rsa', bits: 4096 },
};

/**
 * EST serverkeygen (RFC 7030 §4.4): for a device too constrained to make a good key, the server
 * makes it, has it certified through the one pipeline, and returns both — the key protected by
 * the TLS connection only ("encrypted at transport", §4.4.2), so only where the project allows it
 * (`allowServerKeygen`). The CSR names the subject and the key type (the type of the key that
 * signed it, if the profile allows it, else the profile's first); its own key is not certified.
 * The key is never stored: once answered, the server has no copy.
 */
export async function issueWithServerKey(deps: PkiDeps, entitlement: ServerKeygenEntitlement, csrDer: Buffer): Promise<ServerGeneratedKey> {
  const project =
    entitlement.kind === 'token'
      ? await usableTokenProject(deps, entitlement.token, entitlement.projectSlug)
      : await deps.db.selectFrom('projects').selectAll().where('id', '=', entitlement.device.projectKey).executeTakeFirstOrThrow();
  if (!projectSettingsOf(project).allowServerKeygen) {
    throw new ServiceError('SERVER_KEYGEN_NOT_ALLOWED', `project ${JSON.stringify(project.slug)} does not let the server make device keys (setting allowServerKeygen)`, { projectId: project.slug });
  }
  if (csrDer.length > MAX_CSR_BYTES) throw new ServiceError('BODY_TOO_LARGE', `a CSR is at most ${MAX_CSR_BYTES} bytes`, { maxBytes: MAX_CSR_BYTES });
  let csr: ReturnType<typeof parseCsr>;
  try {
    csr = parseCsr(csrDer);
    await assertCsrSignature(csr);
  } catch (error) {
    if (isPkiError(error)) throw fromCoreFailure(error, error.code === 'CSR_SIGNATURE_INVALID' ? 'csr-signature' : 'csr-parse');
    throw error;
  }
  const spec = await keySpecFor(deps, project, csr.publicKey.algorithm);
  const { privateKey, publicKey } = generateKeyPair(spec);
  const input = { kind: 'crmf', subject: csr.subject, publicKey: parseSubjectPublicKeyInfo(publicKey.export({ type: 'spki', format: 'der' }), 'generated key') } as const;
  const issued =
    entitlement.kind === 'token'
      ? await issueWithToken(deps, entitlement.token, project, input, 'est-serverkeygen')
      : await issueDeviceCertificateFor(deps, {
          project,
          request: input,
          channel: 'est-serverkeygen',
          actor: `device:${entitlement.device.deviceId}`,
          entitlement: { kind: 'device', deviceId: entitlement.device.deviceId, certificateId: entitlement.device.certificateId },
        });
  return { issued, privateKeyPkcs8: privateKey.export({ type: 'pkcs8', format: 'der' }) };
}

async function keySpecFor(deps: PkiDeps, project: ProjectRow, asked: Parameters<typeof deviceKeyType>[0]): Promise<KeySpec> {
  const ca = await deps.issuingCas.forProject(project);
  const type = deviceKeyType(asked);
  const allowed = ca.profile.keyTypes;
  return SPEC_BY_TYPE[type !== undefined && allowed.includes(type) ? type : (allowed[0] ?? 'P-256')];
}
