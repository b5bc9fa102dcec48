import type { PkiError, PkiErrorCode } from '@fleetpki/pki';
import { ServiceError, type ServiceErrorCode } from '../../service-error.js';

/** The stages of the issuance pipeline that ask the core, and the server code each says when the core refuses. */
export type CoreStage = 'csr-parse' | 'csr-signature' | 'csr-subject' | 'sign';

const STAGE_CODE: Readonly<Record<CoreStage, ServiceErrorCode>> = {
  'csr-parse': 'CSR_UNPARSABLE',
  'csr-signature': 'CSR_SIGNATURE_INVALID',
  'csr-subject': 'CSR_SUBJECT_INVALID',
  sign: 'SIGNER_UNAVAILABLE',
};

/** What each stage says before the core's own words. */
const STAGE_DETAIL: Readonly<Record<CoreStage, string | undefined>> = {
  'csr-parse': 'the CSR does not parse',
  'csr-signature': undefined,
  'csr-subject': 'the CSR’s subject is not a device of this project',
  sign: undefined,
};

/** Core codes that keep a server code of their own whatever the stage. */
const OWN_CODE: Partial<Readonly<Record<PkiErrorCode, ServiceErrorCode>>> = {
  UNSUPPORTED_ALGORITHM: 'CSR_SIGNATURE_ALGORITHM_UNSUPPORTED',
  WEAK_KEY: 'WEAK_KEY',
};

/**
 * The one translation of the core's failures into the server's (DESIGN §7: one table, no
 * case-by-case mapping in the pipeline); the core's code travels along as `pkiCode`.
 */
export function fromCoreFailure(error: PkiError, stage: CoreStage): ServiceError {
  const code = OWN_CODE[error.code] ?? STAGE_CODE[stage];
  const prefix = STAGE_DETAIL[stage];
  const advice = code === 'CSR_SIGNATURE_ALGORITHM_UNSUPPORTED' ? '; sign the CSR with SHA-256, SHA-384 or SHA-512' : '';
  return new ServiceError(code, `${prefix ? `${prefix}: ` : ''}${error.message}${advice}`, { pkiCode: error.code });
}
