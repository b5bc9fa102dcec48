import { MIN_RSA_BITS, weakKeyReason, type KeyAlgorithm } from '@fleetpki/pki';
import { ServiceError } from '../../service-error.js';
import type { ManagedCasTable } from '../../store/schema.js';

/** Key types a project may let its devices have certified (DESIGN §2: P-256, P-384, RSA ≥ 2048). */
export const DEVICE_KEY_TYPES = ['P-256', 'P-384', 'RSA-2048', 'RSA-3072', 'RSA-4096'] as const;
export type DeviceKeyType = (typeof DEVICE_KEY_TYPES)[number];

/** A managed CA's issuance profile: the template every certificate it signs starts from. */
export interface IssuanceProfile {
  /** Validity when the caller asks for none. */
  readonly defaultDays: number;
  /** The longest validity a caller may ask for. */
  readonly maxDays: number;
  readonly keyTypes: readonly DeviceKeyType[];
}

export const DEFAULT_ISSUANCE_PROFILE: IssuanceProfile = { defaultDays: 365, maxDays: 825, keyTypes: DEVICE_KEY_TYPES };

/** The key type name a profile lists for a key; undefined for keys no profile may list (weak or exotic). */
export function deviceKeyType(algorithm: KeyAlgorithm): DeviceKeyType | undefined {
  if (algorithm.kind === 'ec') return algorithm.curve === 'P-256' || algorithm.curve === 'P-384' ? algorithm.curve : undefined;
  if (algorithm.kind === 'rsa') {
    const name = `RSA-${algorithm.bits}`;
    return (DEVICE_KEY_TYPES as readonly string[]).includes(name) ? (name as DeviceKeyType) : undefined;
  }
  return undefined;
}

/** The template's validity: the caller's days, or the profile's default, never beyond its maximum. */
export function validityDays(profile: IssuanceProfile, requested: number | undefined): number {
  const days = requested ?? profile.defaultDays;
  if (days > profile.maxDays) {
    throw new ServiceError('VALIDITY_TOO_LONG', `the project's profile allows at most ${profile.maxDays} days; ${days} were asked for`, { days, maxDays: profile.maxDays });
  }
  return days;
}

/** The key rule of the profile: strong keys only (WEAK_KEY), and only the types the project allows. */
export function checkDeviceKey(profile: IssuanceProfile, algorithm: KeyAlgorithm): void {
  const weak = weakKeyReason(algorithm);
  if (weak !== undefined) {
    throw new ServiceError('WEAK_KEY', `${weak}: device keys must be EC P-256, P-384 or RSA of at least ${MIN_RSA_BITS} bits`, { keyType: describe(algorithm) });
  }
  const type = deviceKeyType(algorithm);
  if (type === undefined || !profile.keyTypes.includes(type)) {
    throw new ServiceError('KEY_TYPE_NOT_ALLOWED', `the project's profile does not allow ${describe(algorithm)} keys`, { keyType: describe(algorithm), allowed: [...profile.keyTypes] });
  }
}

function describe(algorithm: KeyAlgorithm): string {
  if (algorithm.kind === 'ec') return algorithm.curve;
  if (algorithm.kind === 'rsa' || algorithm.kind === 'rsa-pss') return `RSA-${algorithm.bits}`;
  return algorithm.kind;
}

/** The profile a managed CA's row keeps (its columns), as the pipeline reads it. */
export function profileOf(row: Pick<ManagedCasTable, 'default_days' | 'max_days' | 'key_types'>): IssuanceProfile {
  return { defaultDays: row.default_days, maxDays: row.max_days, keyTypes: JSON.parse(row.key_types) as DeviceKeyType[] };
}
