import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { ServiceError } from '../../service-error.js';
import type { AuthenticatedDevice, DeviceTransport } from '../identity/index.js';
import type { ServiceDeps } from '../shared/service-deps.js';
import { TOKEN_SIGNING_ALG, type TokenKeyRing } from './token-key-ring.js';
import { CLIENT_CREDENTIALS_GRANT, echoed, type TokenRequest } from './token-request.js';
import { TokenSettingsCache, type TokenSettings } from './token-settings.js';

/** RFC 6749 §5.1's answer. */
export interface DeviceTokenResponse {
  readonly access_token: string;
  readonly token_type: 'Bearer';
  readonly expires_in: number;
}

/** RFC 9068 §2.1: the header type of a JWT access token. */
export const ACCESS_TOKEN_TYPE = 'at+jwt';

export interface DeviceTokenIssuerOptions {
  /** The platform URL (the management API's public URL): the tokens' `iss`, where the JWKS is. */
  readonly issuer: () => string;
  /** Counts each token issued, by transport (the Prometheus counter). */
  readonly issued?: ((transport: DeviceTransport) => void) | undefined;
}

/**
 * Device identity tokens (RFC 8705 §3): a device that proved its certificate on the gateway
 * gets a short-lived JWT that names it (`sub` the device ID, `fleetpki:project`,
 * `fleetpki:certificate_id`) and is bound to that certificate (`cnf.x5t#S256`), for one of
 * its project's audiences, signed with the platform's current key. Nothing is written per token
 * (the hot path); the refusals of devices that may not have one are the identity service's own,
 * made and journaled at their handshake.
 */
export class DeviceTokenIssuer {
  readonly settings: TokenSettingsCache;

  constructor(
    deps: ServiceDeps,
    readonly keys: TokenKeyRing,
    private readonly options: DeviceTokenIssuerOptions,
  ) {
    this.settings = new TokenSettingsCache(deps);
    this.now = deps.now;
  }

  private readonly now: () => Date;

  async issue(device: AuthenticatedDevice, request: TokenRequest, transport: DeviceTransport): Promise<DeviceTokenResponse> {
    // cnf binds the token to a certificate (RFC 8705 §3.1): a device that proved a pre-shared key has none.
    if (device.credential !== 'certificate') throw new ServiceError('NO_CLIENT_CERTIFICATE', 'a token is bound to the certificate the device authenticated with; this session proved a pre-shared key');
    if (request.grantType === undefined) throw new ServiceError('TOKEN_REQUEST_INVALID', `grant_type is required (${CLIENT_CREDENTIALS_GRANT})`, { reason: 'grant-type-missing' });
    if (request.grantType !== CLIENT_CREDENTIALS_GRANT) {
      throw new ServiceError('TOKEN_GRANT_TYPE_UNSUPPORTED', `the only grant is ${CLIENT_CREDENTIALS_GRANT}, proved by the device certificate`, { grantType: echoed(request.grantType) });
    }
    if (request.clientId !== undefined && request.clientId !== device.certificateId) {
      throw new ServiceError('TOKEN_REQUEST_INVALID', 'client_id, when sent, is the certificate ID the device authenticated with', { reason: 'client-id-mismatch' });
    }
    const settings = await this.settings.of(device.projectKey);
    const audience = audienceFor(request.audience, settings);
    const key = await this.keys.signingKey();
    const issuedAt = Math.floor(this.now().getTime() / 1000);
    const { lifetimeSeconds } = settings;
    const token = await new SignJWT({
      client_id: device.certificateId,
      'fleetpki:project': device.projectId,
      'fleetpki:certificate_id': device.certificateId,
      // RFC 8705 §3.1: base64url of the SHA-256 of the certificate's DER, which the fingerprint already is (in hex).
      cnf: { 'x5t#S256': Buffer.from(device.fingerprintSha256, 'hex').toString('base64url') },
    })
      .setProtectedHeader({ alg: TOKEN_SIGNING_ALG, kid: key.kid, typ: ACCESS_TOKEN_TYPE })
      .setIssuer(this.options.issuer())
      .setSubject(device.deviceId)
      .setAudience(audience)
      .setIssuedAt(issuedAt)
      .setNotBefore(issuedAt)
      .setExpirationTime(issuedAt + lifetimeSeconds)
      .setJti(randomUUID())
      .sign(key.privateKey);
    this.options.issued?.(transport);
    return { access_token: token, token_type: 'Bearer', expires_in: lifetimeSeconds };
  }
}

/**
 * The audience a request gets: one of the project's `tokenAudiences`. A request without one gets
 * the only one when exactly one is listed (a project serving one backend need not make its
 * devices name it); with several listed it must choose.
 */
function audienceFor(requested: string | undefined, settings: TokenSettings): string {
  const allowed = settings.audiences;
  if (requested === undefined) {
    if (allowed.length === 1) return allowed[0] as string;
    if (allowed.length > 1) throw new ServiceError('TOKEN_REQUEST_INVALID', `the project allows ${allowed.length} audiences: name one in audience`, { reason: 'audience-missing' });
    throw new ServiceError('TOKEN_AUDIENCE_NOT_ALLOWED', 'the project allows no token audience (setting tokenAudiences)', { audience: '' });
  }
  if (!allowed.includes(requested)) throw new ServiceError('TOKEN_AUDIENCE_NOT_ALLOWED', 'the audience is not one of the project’s tokenAudiences', { audience: echoed(requested) });
  return requested;
}
