// Exponential back-off for reconnecting to the daemon.
// This module must not import 'vscode'.

/**
 * The first retry comes after 250 ms: a restarting daemon is usually back within a few hundred milliseconds
 * (a framework-dependent start to `initialize` takes about 150 to 200 ms here), so a user barely notices.
 * Doubling to a 5 s cap keeps a missing or crashing backend from costing more than one cheap
 * `daemon ensure` every five seconds, while still reconnecting soon after it is fixed.
 */
export const ReconnectBackoff = {
  initialDelayMs: 250,
  factor: 2,
  maxDelayMs: 5_000,
} as const;

export interface BackoffPolicy {
  readonly initialDelayMs: number;
  readonly factor: number;
  readonly maxDelayMs: number;
}

export class Backoff {
  private failures = 0;

  constructor(private readonly policy: BackoffPolicy = ReconnectBackoff) {}

  /** How many delays were handed out since the last reset. */
  get attempts(): number {
    return this.failures;
  }

  /** The delay before the next attempt; each call doubles it up to the cap. */
  next(): number {
    const delay = Math.min(this.policy.maxDelayMs, this.policy.initialDelayMs * this.policy.factor ** this.failures);
    this.failures++;
    return delay;
  }

  /** Called after a successful connection, so the next outage starts again from the initial delay. */
  reset(): void {
    this.failures = 0;
  }
}
