import type { CaKeyVault } from '../authorities/ca-key-vault.js';
import type { EnrollmentTokenSecrets } from './enrollment-token-secrets.js';
import type { CmpServices } from './cmp-services.js';
import type { IssuanceRecorder } from './issuance-recorder.js';
import type { IssuingCaCache } from '../authorities/issuing-cas.js';
import type { KeyToken } from '../authorities/key-token.js';
import type { ProjectAnchorCache } from '../identity/project-anchors.js';
import type { ServiceDeps } from '../shared/service-deps.js';

/** What the integrated PKI needs beyond the store and clock: where keys are kept, and the signer cache. */
export interface PkiDeps extends ServiceDeps {
  readonly vault: CaKeyVault;
  /** Enrollment tokens sealed for CMP's MAC. */
  readonly enrollmentSecrets: EnrollmentTokenSecrets;
  /** CMP's device authentication and the key that signs its answers to signed requests. */
  readonly cmp: CmpServices;
  /** The PKCS#11 token, when the server was started with one. */
  readonly keyToken: KeyToken | undefined;
  readonly issuingCas: IssuingCaCache;
  readonly recorder: IssuanceRecorder;
  /** The projects' parsed CA certificates, shared with the device-identity service. */
  readonly projectAnchors: ProjectAnchorCache;
  /**
   * The management API's URL as relying parties reach it (`serve --public-url`, else its own
   * listening URL): issued certificates name their CA's CRL and OCSP responder under it.
   * Undefined until the server listens.
   */
  readonly publicUrl: () => string | undefined;
  /** `serve --allow-private-crl-urls`: CRL URLs may point at loopback, link-local or private addresses (a lab, a test). */
  readonly allowPrivateCrlUrls: boolean;
}
