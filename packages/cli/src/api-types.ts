/**
 * The management API's wire shapes as the CLI reads them, named off the schemas of the server's
 * OpenAPI document (openapi.generated.ts, `npm run api:types`): nothing here is restated by hand.
 */
import type { components } from './openapi.generated.js';

type Schemas = components['schemas'];

export type ApiKey = Schemas['ApiKey'];
export type ApiKeyCreate = Schemas['ApiKeyCreate'];
export type BundleResult = Schemas['BundleResult'];
export type BundleUploadResult = Schemas['BundleUploadResult'];
export type CaCertificate = Schemas['CaCertificate'];
export type CaCertificateCreated = Schemas['CaCertificateCreated'];
export type CaCrl = Schemas['CaCrl'];
export type CaCrlUploadResult = Schemas['CaCrlUploadResult'];
export type CertificateContent = Schemas['CertificateContent'];
export type CertType = CaCertificate['certType'];
export type Device = Schemas['Device'];
export type EnrollmentTokenBatch = Schemas['EnrollmentTokenBatch'];
export type IssuedCertificate = Schemas['IssuedCertificate'];
export type ManagedCa = Schemas['ManagedCa'];
export type ManagedCaCreate = Schemas['ManagedCaCreate'];
export type NewApiKey = Schemas['NewApiKey'];
export type Project = Schemas['Project'];
export type ProjectSettings = Schemas['ProjectSettings'];
export type RevocationOutcome = Schemas['RevocationOutcome'];
export type RevocationTarget = Schemas['RevocationTarget'];
export type TokenKey = Schemas['TokenKey'];
export type UploadWarning = Schemas['UploadWarning'];

/**
 * An RFC 9457 problem document as the CLI holds one: the server's (Schemas['Problem']), of which
 * only the stable code is checked on arrival (asProblem), so every other member may be missing.
 */
export type Problem = Partial<Schemas['Problem']> & { readonly code: string };
export type DeviceCertificate = Schemas['DeviceCertificate'];
