import { attributeValues, decodePem, encodePem, isPkiError, Oid, parseCertificate, type Certificate } from '@fleetpki/pki';
import { ServiceError } from '../../service-error.js';
import type { CertificateSigner } from './certificate-signer.js';

/** How long one call to the remote signer may take. */
export const CFSSL_TIMEOUT_MS = 10_000;
/** Bound on a remote signer's answer: a certificate in JSON is a few KiB. */
export const MAX_CFSSL_RESPONSE_BYTES = 256 * 1024;

interface CfsslResponse {
  readonly success?: boolean;
  readonly result?: { readonly certificate?: string };
  readonly errors?: readonly { readonly code?: number; readonly message?: string }[];
}

/**
 * One call to cfssl's JSON API (`cfssl serve`; endpoints /api/v1/cfssl/info and /sign). A
 * refusal, a timeout or an answer that is not cfssl's envelope is SIGNER_UNAVAILABLE or
 * SIGNER_RESPONSE_INVALID, never a certificate.
 */
async function callCfssl(baseUrl: string, endpoint: 'info' | 'sign', body: unknown): Promise<string> {
  let response: Response;
  try {
    response = await fetch(new URL(`/api/v1/cfssl/${endpoint}`, baseUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(CFSSL_TIMEOUT_MS),
    });
  } catch (error) {
    throw new ServiceError('SIGNER_UNAVAILABLE', `the cfssl signer at ${baseUrl} did not answer: ${(error as Error).message}`, { url: baseUrl });
  }
  const bytes = Buffer.from(await response.arrayBuffer());
  if (bytes.length > MAX_CFSSL_RESPONSE_BYTES) throw invalid(baseUrl, `an answer of ${bytes.length} bytes`);
  let parsed: CfsslResponse;
  try {
    parsed = JSON.parse(bytes.toString('utf8')) as CfsslResponse;
  } catch {
    throw invalid(baseUrl, `HTTP ${response.status} without a JSON body`);
  }
  if (!parsed.success || typeof parsed.result?.certificate !== 'string') {
    const reason = parsed.errors?.[0];
    throw new ServiceError('SIGNER_UNAVAILABLE', `the cfssl signer refused: ${reason?.message ?? `HTTP ${response.status}`}`, {
      url: baseUrl,
      ...(reason?.code !== undefined && reason.code !== null ? { signerCode: reason.code } : {}),
    });
  }
  return parsed.result.certificate;
}

function invalid(baseUrl: string, what: string): ServiceError {
  return new ServiceError('SIGNER_RESPONSE_INVALID', `the cfssl signer at ${baseUrl} sent ${what}`, { url: baseUrl });
}

function certificateFromPem(pem: string, baseUrl: string): Certificate {
  try {
    const [block] = decodePem(pem);
    if (!block || block.label !== 'CERTIFICATE') throw invalid(baseUrl, 'no certificate');
    return parseCertificate(block.der);
  } catch (error) {
    if (isPkiError(error)) throw invalid(baseUrl, `a certificate that does not parse (${error.code})`);
    throw error;
  }
}

/** The CA certificate a cfssl signer signs with (`/api/v1/cfssl/info`), checked for URL shape first. */
export async function fetchCfsslCaCertificate(baseUrl: string): Promise<Certificate> {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new ServiceError('VALIDATION_FAILED', `cfssl.url is not a URL: ${JSON.stringify(baseUrl)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ServiceError('VALIDATION_FAILED', 'cfssl.url must be http:// or https://');
  return certificateFromPem(await callCfssl(baseUrl, 'info', { label: '' }), baseUrl);
}

/**
 * A project CA held by cfssl: the CSR goes to `/api/v1/cfssl/sign` with the subject the
 * pipeline decided (cfssl's subject override; `hosts: []` drops any SAN the CSR asked for).
 * cfssl builds the certificate itself, so the pipeline verifies the answer before using it.
 */
export function cfsslCertificateSigner(baseUrl: string, profile: string | null, caCertificate: Certificate): CertificateSigner {
  return {
    kind: 'remote',
    caCertificate,
    authority: undefined,
    async sign(request) {
      // The pipeline refuses a request without a CSR before it asks a remote signer (SIGNER_NEEDS_CSR).
      if (request.csrDer === undefined) throw new ServiceError('SIGNER_NEEDS_CSR', 'cfssl signs CSRs only');
      const o = attributeValues(request.subject, Oid.organizationName);
      const cn = attributeValues(request.subject, Oid.commonName);
      const pem = await callCfssl(baseUrl, 'sign', {
        certificate_request: encodePem('CERTIFICATE REQUEST', request.csrDer),
        hosts: [],
        subject: { CN: cn[0], names: [{ O: o[0] }] },
        ...(profile ? { profile } : {}),
      });
      return { der: certificateFromPem(pem, baseUrl).der };
    },
  };
}
