import { createHash, timingSafeEqual } from 'node:crypto';

/** The request header a proxy carries the forward-auth shared secret in. */
export const FORWARD_AUTH_SECRET_HEADER = 'fleetpki-forward-auth-secret';
/** The secret comes from the environment only: a flag would show it in the process list. */
export const FORWARD_AUTH_SECRET_ENV = 'FLEETPKI_FORWARD_AUTH_SECRET';
/** Shorter secrets are refused at start: the secret is the listener's only guard beyond its address. */
export const MIN_FORWARD_AUTH_SECRET_LENGTH = 16;
/** Visible ASCII only: the proxy sends it as a header value. */
const HEADER_SAFE = /^[\x21-\x7e]+$/;

/** Why a secret cannot be used, or undefined when it can. */
export function forwardAuthSecretProblem(secret: string): string | undefined {
  if (secret.length < MIN_FORWARD_AUTH_SECRET_LENGTH) return `the forward-auth secret must be at least ${MIN_FORWARD_AUTH_SECRET_LENGTH} characters`;
  if (!HEADER_SAFE.test(secret)) return 'the forward-auth secret must be visible ASCII (it travels as a header value)';
  return undefined;
}

/**
 * A constant-time check of the secret a request presents. Both sides are hashed first so the
 * comparison takes the same time whatever the presented value's length (timingSafeEqual needs
 * equal lengths, and comparing lengths first would tell the secret's).
 */
export function secretMatcher(secret: string): (presented: string | undefined) => boolean {
  const expected = createHash('sha256').update(secret, 'utf8').digest();
  return (presented) => presented !== undefined && timingSafeEqual(createHash('sha256').update(presented, 'utf8').digest(), expected);
}
