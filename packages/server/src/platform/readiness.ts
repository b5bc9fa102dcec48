/** One thing a server needs to serve, asked whether it answers (throws when it does not). */
export interface ReadinessCheck {
  readonly name: string;
  run(): Promise<void>;
}

export interface CheckOutcome {
  readonly ok: boolean;
  readonly latencyMs: number;
  readonly error?: string;
}

export interface ReadinessReport {
  readonly ready: boolean;
  /** Set once the server was asked to stop: a load balancer takes it out while requests in flight finish. */
  readonly draining: boolean;
  readonly checks: Readonly<Record<string, CheckOutcome>>;
}

/** A check that has not answered within this is failed: a hung store must not hang the probe. */
export const CHECK_TIMEOUT_MS = 1000;

/**
 * `/readyz` (issue 18, 3): whether this server can serve now — each check run at once, in
 * parallel, each bounded by CHECK_TIMEOUT_MS and timed — and whether it is draining. Checks whose
 * answer is costly to get (a remote signer) cache it themselves.
 */
export class Readiness {
  private draining = false;

  constructor(private readonly checks: readonly ReadinessCheck[]) {}

  /** The first step of a stop: readiness answers 503 from now on. */
  drain(): void {
    this.draining = true;
  }

  async report(): Promise<ReadinessReport> {
    const outcomes = await Promise.all(this.checks.map(async (check) => [check.name, await timed(check)] as const));
    const checks = Object.fromEntries(outcomes);
    return { ready: !this.draining && outcomes.every(([, outcome]) => outcome.ok), draining: this.draining, checks };
  }
}

async function timed(check: ReadinessCheck): Promise<CheckOutcome> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check.run(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
      }),
    ]);
    return { ok: true, latencyMs: Math.round((performance.now() - started) * 10) / 10 };
  } catch (error) {
    return { ok: false, latencyMs: Math.round((performance.now() - started) * 10) / 10, error: error instanceof Error ? error.message : String(error) };
  } finally {
    clearTimeout(timer);
  }
}
