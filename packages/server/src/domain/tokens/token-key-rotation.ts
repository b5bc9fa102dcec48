import type { Logger } from '../../logger.js';
import { LeasedSchedule } from '../shared/leased-schedule.js';
import type { ServiceDeps } from '../shared/service-deps.js';
import type { TokenKeyRing } from './token-key-ring.js';
import { DEFAULT_TOKEN_KEY_ROTATION_DAYS } from './token-key-schedule.js';

/** How often a server looks whether the signing key is due for rotation, and how long its lease lasts. */
export const TOKEN_KEY_ROTATION_INTERVAL_MS = 10 * 60_000;
export const TOKEN_KEY_ROTATION_LEASE_MS = 20 * 60_000;
const LEASE_NAME = 'token-signing-keys';
const DAY_MS = 24 * 3600 * 1000;

/** What one pass did. */
export interface TokenKeyRotationPass {
  readonly leased: boolean;
  /** The kid of the key this pass made, when the newest key was due. */
  readonly rotated: string | undefined;
  /** Retired keys deleted. */
  readonly swept: number;
}

export interface TokenKeyRotationOptions {
  readonly rotationDays?: number | undefined;
  readonly intervalMs?: number | undefined;
  readonly leaseMs?: number | undefined;
}

/**
 * Time-driven work on the token signing keys, one server at a time (DESIGN §8, the
 * `token-signing-keys` lease): a new key once the newest is `rotationDays` old (published for
 * the publish lead before it signs), and retired keys deleted with their sealed private halves.
 * The first key is not made here but on first need (TokenKeyRing).
 */
export class TokenKeyRotation {
  private readonly schedule: LeasedSchedule<TokenKeyRotationPass>;

  constructor(
    deps: ServiceDeps,
    private readonly ring: TokenKeyRing,
    private readonly logger: Logger,
    private readonly options: TokenKeyRotationOptions = {},
  ) {
    this.schedule = new LeasedSchedule(deps, logger, {
      lease: LEASE_NAME,
      intervalMs: options.intervalMs ?? TOKEN_KEY_ROTATION_INTERVAL_MS,
      leaseMs: options.leaseMs ?? TOKEN_KEY_ROTATION_LEASE_MS,
      idle: { leased: false, rotated: undefined, swept: 0 },
      failure: 'token signing key rotation failed; retrying',
      run: (now) => this.pass(now),
    });
  }

  start(): void {
    this.schedule.start();
  }

  stop(): void {
    this.schedule.stop();
  }

  /** One pass, unless one is running (then its outcome). */
  tick(): Promise<TokenKeyRotationPass> {
    return this.schedule.tick();
  }

  private async pass(now: Date): Promise<TokenKeyRotationPass> {
    const swept = await this.ring.sweep();
    const newest = await this.ring.newestCreatedAt();
    const due = newest !== undefined && now.getTime() - newest >= (this.options.rotationDays ?? DEFAULT_TOKEN_KEY_ROTATION_DAYS) * DAY_MS;
    const rotated = due ? (await this.ring.rotate('scheduler')).kid : undefined;
    if (rotated) this.logger.log('info', 'rotated the token signing key', { kid: rotated });
    return { leased: true, rotated, swept };
  }
}
