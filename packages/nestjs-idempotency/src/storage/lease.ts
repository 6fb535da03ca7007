import type { IdempotencyLease, LockOptions, StoredResponse } from './idempotency-store.interface.js';

/** setTimeout's largest delay (2^31 - 1 ms, 24.8 days): Node runs a timer set for longer after 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A delay setTimeout keeps: one beyond its largest ends at the largest, early rather than at once. */
export function timerDelay(ms: number): number {
  return Math.min(Math.max(0, ms), MAX_TIMER_MS);
}

/** A lease's `lost` signal, made only when someone reads it: most leases are never lost, and an AbortController costs microseconds. */
export class LossSignal {
  private controller?: AbortController;
  private reason?: Error;

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.reason) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  abort(reason: Error): void {
    this.reason ??= reason;
    this.controller?.abort(reason);
  }
}

/**
 * A lease whose lock is extended every third of its TTL until it is settled or its hold limit is
 * reached. `extendLock` returns the lock's new expiry (ms since the epoch) or rejects; a failed
 * extension is tried again at the next tick while the lock may still be ours. Once the lock may
 * have expired, `lost` aborts.
 */
export abstract class RenewedLease implements IdempotencyLease {
  private readonly loss = new LossSignal();
  private readonly holdUntil: number;
  private timer?: NodeJS.Timeout;
  private extension?: Promise<void>;
  private settled = false;

  constructor(
    readonly recordId: string,
    private readonly lock: LockOptions,
    private expiresAt: number,
  ) {
    this.holdUntil = Date.now() + lock.maxHoldMs;
    this.schedule();
  }

  get lost(): AbortSignal {
    return this.loss.signal;
  }

  async complete(response: StoredResponse, ttlMs: number): Promise<boolean> {
    return (await this.settle()) && this.storeAndRelease(response, ttlMs);
  }

  async release(): Promise<void> {
    // Released once; a lock that cannot be released expires with its TTL.
    if (await this.settle()) await this.releaseLock().catch(() => undefined);
  }

  /** Stores the outcome and releases the lock, if this lease's owner token still holds it or nobody does. */
  protected abstract storeAndRelease(response: StoredResponse, ttlMs: number): Promise<boolean>;
  protected abstract extendLock(ttlMs: number): Promise<number>;
  protected abstract releaseLock(): Promise<void>;

  /** No more extensions; waits for one in flight, so the release comes after it. False when settled before. */
  private async settle(): Promise<boolean> {
    if (this.settled) return false;
    this.settled = true;
    clearTimeout(this.timer);
    await this.extension;
    return true;
  }

  private schedule(): void {
    const nextExtension = Date.now() + Math.floor(this.lock.lockTtlMs / 3);
    if (nextExtension >= this.holdUntil) {
      // Past the hold limit the lock is left to expire: a hung operation stops blocking its key.
      this.timer = setTimeout(() => this.loss.abort(new Error('The lock was held longer than maxLockHoldMs')), timerDelay(this.expiresAt - Date.now()));
      return;
    }
    const delay = timerDelay(nextExtension - Date.now());
    this.timer = setTimeout(() => {
      this.extension = this.renew();
    }, delay);
  }

  private async renew(): Promise<void> {
    try {
      this.expiresAt = await this.extendLock(this.lock.lockTtlMs);
    } catch (error) {
      if (this.expiresAt <= Date.now()) {
        this.loss.abort(error instanceof Error ? error : new Error(String(error)));
        return;
      }
    }
    if (!this.settled) this.schedule();
  }
}
