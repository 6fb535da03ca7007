import type { IdempotencyLease } from './idempotency-store.interface.js';

/**
 * A lease whose lock is extended every third of its TTL until it is settled. `extendLock` returns
 * the lock's new expiry (ms since the epoch) or rejects; a failed extension is tried again at the
 * next tick while the lock may still be ours, and once it has expired `lost` aborts.
 */
export abstract class RenewedLease implements IdempotencyLease {
  private readonly controller = new AbortController();
  private timer?: NodeJS.Timeout;
  private extension?: Promise<void>;
  private settled = false;

  constructor(
    readonly recordId: string,
    private readonly ttlMs: number,
    private expiresAt: number,
  ) {
    this.schedule();
  }

  get lost(): AbortSignal {
    return this.controller.signal;
  }

  /** No more extensions; waits for one in flight, so the caller's release comes after it. Returns false when settled before. */
  async settle(): Promise<boolean> {
    if (this.settled) return false;
    this.settled = true;
    clearTimeout(this.timer);
    await this.extension;
    return true;
  }

  protected abstract extendLock(ttlMs: number): Promise<number>;

  private schedule(): void {
    this.timer = setTimeout(
      () => {
        this.extension = this.renew();
      },
      Math.floor(this.ttlMs / 3),
    );
  }

  private async renew(): Promise<void> {
    try {
      this.expiresAt = await this.extendLock(this.ttlMs);
    } catch (error) {
      if (this.expiresAt <= Date.now()) {
        this.controller.abort(error);
        return;
      }
    }
    if (!this.settled) this.schedule();
  }
}
