// Device identity tokens (RFC 8705): the token request, the issuer, the platform's signing keys
// and their rotation. This file is the only door gateway/ and http/ may use (npm run lint enforces it).

export { ACCESS_TOKEN_TYPE, DeviceTokenIssuer, type DeviceTokenIssuerOptions, type DeviceTokenResponse } from './device-token-issuer.js';
export { TOKEN_KEY_REFRESH_MS, TOKEN_SIGNING_ALG, TokenKeyRing, tokenKeySealContext, type SigningKey, type TokenKeyRingOptions, type TokenKeyView } from './token-key-ring.js';
export { TOKEN_KEY_ROTATION_INTERVAL_MS, TOKEN_KEY_ROTATION_LEASE_MS, TokenKeyRotation, type TokenKeyRotationOptions, type TokenKeyRotationPass } from './token-key-rotation.js';
export {
  DEFAULT_TOKEN_KEY_PUBLISH_LEAD_SECONDS,
  DEFAULT_TOKEN_KEY_ROTATION_DAYS,
  TOKEN_KEY_PUBLISH_LEAD_SECONDS_BOUNDS,
  TOKEN_KEY_RETIREMENT_MS,
  TOKEN_KEY_ROTATION_DAYS_BOUNDS,
  type TokenKeyState,
} from './token-key-schedule.js';
export { CLIENT_CREDENTIALS_GRANT, MAX_TOKEN_REQUEST_BYTES, parseTokenRequest, type TokenRequest } from './token-request.js';
export { TOKEN_SETTINGS_TTL_MS, type TokenSettings } from './token-settings.js';
