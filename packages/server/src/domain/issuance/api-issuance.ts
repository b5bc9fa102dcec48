import { encodePem } from '@fleetpki/pki';
import { decodeCsrField } from './csr-input.js';
import { issueDeviceCertificateFor, type IssuedDeviceCertificate } from './issuance-pipeline.js';
import type { PkiDeps } from './pki-deps.js';
import { actorName, type Principal } from '../shared/principal.js';
import { projectForPrincipal } from '../management/projects.js';
import type { ProjectRow } from '../../store/schema.js';

/** `POST /v1/projects/{projectId}/pki/issue`'s answer (DESIGN §5 `{certificate}`, with the facts of it). */
export interface ApiIssuedCertificate {
  readonly certificate: string;
  readonly certificateId: string;
  readonly serialNumber: string;
  readonly fingerprintSha256: string;
  readonly notAfter: string;
  readonly caId: string;
  readonly chain: string;
}

/** A factory line's issuance through the management API: the caller's key decides the project, the CSR's CN the device. */
export async function issueThroughApi(
  deps: PkiDeps,
  principal: Principal,
  /** The project's slug, or its row when the caller has already read it for this principal. */
  projectOrId: string | ProjectRow,
  input: { csr: string; days?: number | undefined },
  announced = false,
): Promise<ApiIssuedCertificate> {
  let handedOver = false;
  try {
    const project = typeof projectOrId === 'string' ? await projectForPrincipal(deps, principal, projectOrId) : projectOrId;
    const csrDer = decodeCsrField(input.csr);
    handedOver = true;
    return apiView(
      await issueDeviceCertificateFor(deps, {
        project,
        csrDer,
        days: input.days,
        channel: 'api',
        actor: actorName(principal),
        entitlement: { kind: 'csr-subject' },
        announced,
      }),
    );
  } finally {
    if (announced && !handedOver) deps.recorder.leave();
  }
}

function apiView(issued: IssuedDeviceCertificate): ApiIssuedCertificate {
  return {
    certificate: encodePem('CERTIFICATE', issued.der),
    certificateId: issued.certificateId,
    serialNumber: issued.serialNumber,
    fingerprintSha256: issued.fingerprintSha256,
    notAfter: issued.notAfter,
    caId: issued.caId,
    chain: encodePem('CERTIFICATE', issued.caCertificateDer),
  };
}
