import type { BeginResult, IdempotencyLease, IdempotencyStore, LockOptions, StoredResponse } from './idempotency-store.interface.js';

export interface TieredIdempotencyStoreOptions {
  /** Locks and the hot copy of outcomes: a replay is one round trip here (e.g. RedisIdempotencyStore). */
  hot: IdempotencyStore;
  /** Every outcome is written here before the answer goes out; on a miss in `hot` it decides (e.g. PostgresIdempotencyStore). */
  durable: IdempotencyStore;
}

/** Held in both stores: completes in the durable one first, then copies to the hot one. */
class TieredLease implements IdempotencyLease {
  private signal?: AbortSignal;

  constructor(
    private readonly hot: IdempotencyLease,
    private readonly durable: IdempotencyLease,
  ) {}

  get recordId(): string {
    return this.durable.recordId;
  }

  get lost(): AbortSignal {
    return (this.signal ??= AbortSignal.any([this.hot.lost, this.durable.lost]));
  }

  async complete(response: StoredResponse, ttlMs: number): Promise<boolean> {
    let stored: boolean;
    try {
      stored = await this.durable.complete(response, ttlMs);
    } catch (error) {
      await this.hot.release();
      throw error;
    }
    if (!stored) {
      await this.hot.release();
      return false;
    }
    // The outcome is durable; a hot copy that cannot be written is made again on the next miss.
    await this.hot.complete(response, ttlMs).catch(() => this.hot.release());
    return true;
  }

  async release(): Promise<void> {
    await Promise.all([this.hot.release(), this.durable.release()]);
  }
}

/**
 * Two stores as one: locks and replays from `hot` (a replay stays one Redis round trip), every
 * outcome also in `durable`, written before the answer goes out. On a miss in `hot` (a record it
 * never had, or lost: an emptied Redis after a failover), `durable` decides: a stored outcome is
 * replayed and copied back to `hot` for the rest of its life, one being run elsewhere is in
 * progress, and only a record neither has runs. With `durable` unreachable on a miss, `begin`
 * rejects (503) and nothing runs.
 */
export class TieredIdempotencyStore implements IdempotencyStore {
  private readonly hot: IdempotencyStore;
  private readonly durable: IdempotencyStore;

  constructor(options: TieredIdempotencyStoreOptions) {
    this.hot = options.hot;
    this.durable = options.durable;
  }

  async begin(recordId: string, lock: LockOptions): Promise<BeginResult> {
    const hot = await this.hot.begin(recordId, lock);
    if (hot.state !== 'acquired') return hot;
    let durable: BeginResult;
    try {
      durable = await this.durable.begin(recordId, lock);
    } catch (error) {
      await hot.lease.release();
      throw error;
    }
    if (durable.state === 'acquired') return { state: 'acquired', lease: new TieredLease(hot.lease, durable.lease) };
    if (durable.state === 'stored' && durable.expiresAt !== undefined && durable.expiresAt > Date.now()) {
      await hot.lease.complete(durable.stored, durable.expiresAt - Date.now()).catch(() => hot.lease.release());
    } else {
      await hot.lease.release();
    }
    return durable;
  }

  /**
   * The durable store's record in the caller's transaction (its row lock is the lock until the
   * transaction ends), without a hot copy: the work this serves (a message's effect with its
   * record) is never replayed from Redis. A durable store without transactions refuses.
   */
  beginInTransaction(transaction: unknown, recordId: string, lock: LockOptions): Promise<BeginResult> {
    if (!this.durable.beginInTransaction) throw new TypeError('TieredIdempotencyStore: the durable store does not write records in a transaction');
    return this.durable.beginInTransaction(transaction, recordId, lock);
  }

  async isLocked(recordId: string): Promise<boolean> {
    const [hot, durable] = await Promise.all([this.hot.isLocked(recordId), this.durable.isLocked(recordId)]);
    return hot || durable;
  }
}
