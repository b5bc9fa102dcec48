/**
 * The management API's wire shapes as the CLI reads them. Resources come from the server's own
 * types (type-only imports: nothing of the server loads at run time); the upload envelopes
 * below exist only on the wire (packages/server/src/http/schemas.ts).
 */
import type { CaCertificate, UploadWarning } from '@fleetpki/server';

export type { CertificateContent } from '@fleetpki/pki';
export type { ApiKey, CaCertificate, CertType, Device, NewApiKey, Page, Project, UploadWarning } from '@fleetpki/server';

export interface CaCertificateCreated extends CaCertificate {
  readonly warnings?: readonly UploadWarning[];
}

/** An RFC 9457 problem document with the server's stable code. */
export interface Problem {
  readonly code: string;
  readonly detail?: string;
  readonly status?: number;
  readonly [fact: string]: unknown;
}

export interface BundleResult {
  readonly index: number;
  readonly status: number;
  readonly certificate?: CaCertificate;
  readonly warnings?: readonly UploadWarning[];
  readonly problem?: Problem;
}

export interface BundleUploadResult {
  readonly results: readonly BundleResult[];
  readonly created: number;
  readonly refused: number;
}

/** A managed issuing CA (DESIGN §5 `…/pki/cas`). */
export interface ManagedCa {
  readonly id: string;
  readonly status: 'pending' | 'active';
  readonly mode: 'generate' | 'csr' | 'cfssl';
  readonly keyStorage: 'sealed' | 'pkcs11' | 'remote';
  readonly certificate: string | null;
  readonly chain: string | null;
  readonly csr: string | null;
  readonly caCertificateId: string | null;
  readonly profile: { readonly defaultDays: number; readonly maxDays: number; readonly keyTypes: readonly string[] };
  readonly createdAt: string;
  readonly activatedAt: string | null;
}

/** `POST …/pki/issue`'s answer. */
export interface IssuedCertificate {
  readonly certificate: string;
  readonly certificateId: string;
  readonly serialNumber: string;
  readonly fingerprintSha256: string;
  readonly notAfter: string;
  readonly caId: string;
  readonly chain: string;
}

export interface EnrollmentTokenBatch {
  readonly batchId: string;
  readonly expiresAt: string;
  readonly tokens: readonly { readonly id: string; readonly token: string; readonly deviceId: string | null; readonly certificateId: string | null }[];
}
