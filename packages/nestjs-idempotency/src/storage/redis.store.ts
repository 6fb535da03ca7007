import { randomUUID } from 'node:crypto';
import { IdempotencyStoreUnavailableError } from '../idempotency.exceptions.js';
import type { BeginResult, IdempotencyLease, IdempotencyStore, StoredResponse } from './idempotency-store.interface.js';
import { RenewedLease } from './lease.js';
import { LuaScript, type RedisClient } from './lua-script.js';

export interface RedisIdempotencyStoreOptions {
  /** Prefix of every key; one hash tag per record follows it. Default `idempotency:`. */
  keyPrefix?: string;
}

/**
 * "The stored outcome, or else the lock": the re-check and the acquisition in one round trip. The
 * lock is Redlock's on a single node: SET NX PX with a random owner token.
 */
const BEGIN_SCRIPT = new LuaScript<[1, string] | [2] | [0]>(`
local stored = redis.call('GET', KEYS[1])
if stored then return {1, stored} end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {2} end
return {0}
`);

/** Stores the outcome, then releases the lock only if this owner still holds it (compare-and-delete). */
const COMPLETE_SCRIPT = new LuaScript<1>(`
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
return 1
`);

/** Compare-and-delete: only the owner releases. */
const RELEASE_SCRIPT = new LuaScript<number>(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`);

/** Compare-and-extend: only the owner extends, and only a lock that has not expired. */
const EXTEND_SCRIPT = new LuaScript<number>(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`);

const IN_PROGRESS: BeginResult = { state: 'in_progress' };

class RedisLease extends RenewedLease {
  constructor(
    recordId: string,
    readonly token: string,
    ttlMs: number,
    expiresAt: number,
    private readonly redis: RedisClient,
    private readonly lockKey: string,
  ) {
    super(recordId, ttlMs, expiresAt);
  }

  protected async extendLock(ttlMs: number): Promise<number> {
    const extendedAt = Date.now();
    if ((await EXTEND_SCRIPT.run(this.redis, [this.lockKey], [this.token, ttlMs])) !== 1) throw new Error('The lock is no longer held');
    return validUntil(extendedAt, ttlMs);
  }
}

/**
 * Records and their locks in one Redis, or a Redis Cluster (a record's keys share a hash tag, so
 * one slot). A replay costs one round trip and a first execution two: `begin` (re-check + lock)
 * and `complete` (store + release) are scripts. The lock follows Redlock on one node: a random
 * owner token, compare-and-delete, compare-and-extend while the operation runs.
 *
 * Scripts go out as plain EVALSHA, so with `enableAutoPipelining` they share socket writes with
 * concurrent requests' commands.
 */
export class RedisIdempotencyStore implements IdempotencyStore {
  private readonly keyPrefix: string;

  constructor(
    private readonly redis: RedisClient,
    options: RedisIdempotencyStoreOptions = {},
  ) {
    this.keyPrefix = options.keyPrefix ?? 'idempotency:';
  }

  responseKey(recordId: string): string {
    return recordKeys(recordId, this.keyPrefix).response;
  }

  lockKey(recordId: string): string {
    return recordKeys(recordId, this.keyPrefix).lock;
  }

  async begin(recordId: string, lockTtlMs: number): Promise<BeginResult> {
    // A random owner token, as Redlock's; randomUUID draws from a cached entropy pool (cheap per request).
    const token = randomUUID();
    const started = Date.now();
    const lockKey = this.lockKey(recordId);
    const reply = await BEGIN_SCRIPT.run(this.redis, [this.responseKey(recordId), lockKey], [token, lockTtlMs]).catch(unavailable);
    if (reply[0] === 1) return { state: 'stored', stored: JSON.parse(reply[1]) as StoredResponse };
    if (reply[0] === 0) return IN_PROGRESS;
    return { state: 'acquired', lease: new RedisLease(recordId, token, lockTtlMs, validUntil(started, lockTtlMs), this.redis, lockKey) };
  }

  async complete(lease: IdempotencyLease, response: StoredResponse, ttlMs: number): Promise<void> {
    const held = lease as RedisLease;
    await held.settle();
    try {
      await COMPLETE_SCRIPT.run(this.redis, [this.responseKey(lease.recordId), this.lockKey(lease.recordId)], [held.token, JSON.stringify(response), ttlMs]);
    } catch (error) {
      // The outcome may not be stored; the lock is released if possible, else it expires.
      await this.release(held);
      unavailable(error);
    }
  }

  async abandon(lease: IdempotencyLease): Promise<void> {
    const held = lease as RedisLease;
    if (await held.settle()) await this.release(held);
  }

  async isLocked(recordId: string): Promise<boolean> {
    return (await this.redis.exists(this.lockKey(recordId)).catch(unavailable)) === 1;
  }

  private async release(lease: RedisLease): Promise<void> {
    // A failed release only means the lock lives until its TTL.
    await RELEASE_SCRIPT.run(this.redis, [this.lockKey(lease.recordId)], [lease.token]).catch(() => undefined);
  }
}

/** Where a record lives: its outcome and its lock, under one hash tag (one Cluster slot). */
export function recordKeys(recordId: string, keyPrefix = 'idempotency:'): { response: string; lock: string } {
  return { response: `${keyPrefix}{${recordId}}:response`, lock: `${keyPrefix}{${recordId}}:lock` };
}

/** Redlock's validity for a lock taken at `since`: its TTL less clock drift (1 %) and expiry precision. */
export function validUntil(since: number, ttlMs: number): number {
  return since + ttlMs - Math.round(0.01 * ttlMs) - 2;
}

export function unavailable(error: unknown): never {
  throw new IdempotencyStoreUnavailableError(error);
}
