import { TOKEN_LIFETIME_SECONDS_BOUNDS } from '../management/index.js';

/**
 * When signing keys change hands (RFC 8705 tokens): a new key is published in the JWKS this long
 * before it signs, so relying parties that cache the JWKS (jose's createRemoteJWKSet keeps it up
 * to ten minutes) already hold it when its first token arrives.
 */
export const DEFAULT_TOKEN_KEY_PUBLISH_LEAD_SECONDS = 3600;
/** A new signing key every this many days, made by one server at a time (the `token-signing-keys` lease). */
export const DEFAULT_TOKEN_KEY_ROTATION_DAYS = 30;
/** Bounds of the two, for `serve`'s flags. */
export const TOKEN_KEY_PUBLISH_LEAD_SECONDS_BOUNDS = { min: 0, max: 7 * 24 * 3600 } as const;
export const TOKEN_KEY_ROTATION_DAYS_BOUNDS = { min: 1, max: 3650 } as const;

/**
 * A superseded key stays published until the last token it may have signed has expired: the
 * longest token lifetime any project may set, plus a minute for clocks that disagree.
 */
export const TOKEN_KEY_RETIREMENT_MS = (TOKEN_LIFETIME_SECONDS_BOUNDS.max + 60) * 1000;

/** The life of a signing key: published before it signs, published after it stops until its tokens are gone. */
export type TokenKeyState = 'pending' | 'active' | 'retiring' | 'retired';
