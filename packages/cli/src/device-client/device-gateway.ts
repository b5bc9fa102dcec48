import { ApiClientError, ApiProblemError, problemFromBody } from '../api-error.js';

/** What the gateway answers a device about itself (DESIGN §5 and §8). */
export interface IdentityAnswer {
  readonly projectId: string;
  readonly certificateId: string | null;
  readonly deviceId: string;
  readonly deviceName: string;
  readonly provisioning: string;
  readonly certificate?: { readonly fingerprintSha256: string; readonly notAfter: string; readonly renewAfter: string };
}

/** A device's credentials as files hold them (PEM). */
export interface DeviceCredentials {
  readonly certPem: Buffer;
  readonly keyPem: Buffer;
  /** The server CA to check the gateway against; undefined trusts the system's CAs. */
  readonly serverCaPem: Buffer | undefined;
}

/** The two things a device asks its gateway, over HTTPS or CoAP. */
export interface DeviceGateway {
  identity(): Promise<IdentityAnswer>;
  /** POST /v1/csr: a DER PKCS#10 in, the DER certificate out (Golioth's rotation). */
  rotate(csrDer: Buffer): Promise<Buffer>;
  close(): Promise<void>;
}

/** A refusal as the gateway wrote it: the problem document's code, or the status alone. */
export function refusal(status: number, body: Buffer, where: string): ApiProblemError | ApiClientError {
  const problem = problemFromBody(body);
  if (problem) return new ApiProblemError(problem.code, status, problem);
  return new ApiClientError('SERVER_RESPONSE_INVALID', `${where} answered ${status} without a problem document`);
}
