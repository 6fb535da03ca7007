import { randomUUID } from 'node:crypto';
import type { BeginResult, IdempotencyStore, LockOptions, StoredResponse } from './idempotency-store.interface.js';
import { RenewedLease } from './lease.js';
import { LuaScript, type RedisClient } from './lua-script.js';
import { decodeRecord, encodeRecord, IN_PROGRESS, logOutages, unavailable, validUntil } from './store-common.js';

export interface RedisIdempotencyStoreOptions {
  /** Prefix of every key; one hash tag per record follows it. Default `idempotency:`. */
  keyPrefix?: string;
}

/**
 * "The stored outcome, or else the lock": the re-check and the acquisition in one round trip. The
 * lock is Redlock's on a single node: SET NX PX with a random owner token.
 */
const BEGIN_SCRIPT = new LuaScript<[1, string, number] | [2] | [0]>(`
local stored = redis.call('GET', KEYS[1])
if stored then return {1, stored, redis.call('PTTL', KEYS[1])} end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {2} end
return {0}
`);

/**
 * Stores the outcome and releases the lock, while this owner holds it or nobody does (it expired
 * and nobody took it over); a new holder stores its own outcome instead, and an outcome already
 * stored (by a holder that took the expired lock over and completed) stays.
 */
const COMPLETE_SCRIPT = new LuaScript<number>(`
local holder = redis.call('GET', KEYS[2])
if holder and holder ~= ARGV[1] then return 0 end
local stored = redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3], 'NX')
if holder then redis.call('DEL', KEYS[2]) end
if stored then return 1 end
return 0
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

class RedisLease extends RenewedLease {
  constructor(
    recordId: string,
    lock: LockOptions,
    expiresAt: number,
    private readonly token: string,
    private readonly redis: RedisClient,
    private readonly keys: RecordKeys,
  ) {
    super(recordId, lock, expiresAt);
  }

  protected async storeAndRelease(response: StoredResponse, ttlMs: number): Promise<boolean> {
    try {
      return (await COMPLETE_SCRIPT.run(this.redis, [this.keys.response, this.keys.lock], [this.token, encodeRecord(response), ttlMs])) === 1;
    } catch (error) {
      // The outcome may not be stored; the lock is released if possible, else it expires.
      await this.releaseLock().catch(() => undefined);
      unavailable(error);
    }
  }

  protected async extendLock(ttlMs: number): Promise<number> {
    const extendedAt = Date.now();
    if ((await EXTEND_SCRIPT.run(this.redis, [this.keys.lock], [this.token, ttlMs])) !== 1) throw new Error('The lock is no longer held');
    return validUntil(extendedAt, ttlMs);
  }

  protected async releaseLock(): Promise<void> {
    await RELEASE_SCRIPT.run(this.redis, [this.keys.lock], [this.token]);
  }
}

/**
 * Records and their locks in one Redis, or a Redis Cluster (a record's keys share a hash tag, so
 * one slot). A replay costs one round trip and a first execution two: `begin` (re-check + lock)
 * and `complete` (store + release) are scripts. The lock follows Redlock on one node: a random
 * owner token, compare-and-delete, compare-and-extend while the operation runs.
 *
 * Scripts go out as plain EVALSHA, so with `enableAutoPipelining` they share socket writes with
 * concurrent requests' commands. The client is the app's; a client without an `error` listener
 * gets one that logs each outage once, instead of ioredis' "Unhandled error event" per retry.
 */
export class RedisIdempotencyStore implements IdempotencyStore {
  private readonly keyPrefix: string;

  constructor(
    private readonly redis: RedisClient,
    options: RedisIdempotencyStoreOptions = {},
  ) {
    this.keyPrefix = options.keyPrefix ?? 'idempotency:';
    logOutages(redis, 'RedisIdempotencyStore', 'Redis', 'ready');
  }

  keysOf(recordId: string): RecordKeys {
    return recordKeys(recordId, this.keyPrefix);
  }

  async begin(recordId: string, lock: LockOptions): Promise<BeginResult> {
    // A random owner token, as Redlock's; randomUUID draws from a cached entropy pool (cheap per request).
    const token = randomUUID();
    const started = Date.now();
    const keys = this.keysOf(recordId);
    const reply = await BEGIN_SCRIPT.run(this.redis, [keys.response, keys.lock], [token, lock.lockTtlMs]).catch(unavailable);
    if (reply[0] === 1) return { state: 'stored', stored: decodeRecord(reply[1]), expiresAt: started + reply[2] };
    if (reply[0] === 0) return IN_PROGRESS;
    return { state: 'acquired', lease: new RedisLease(recordId, lock, validUntil(started, lock.lockTtlMs), token, this.redis, keys) };
  }

  async isLocked(recordId: string): Promise<boolean> {
    return (await this.redis.exists(this.keysOf(recordId).lock).catch(unavailable)) === 1;
  }
}

export interface RecordKeys {
  response: string;
  lock: string;
}

/** Where a record lives: its outcome and its lock, under one hash tag (one Cluster slot). */
export function recordKeys(recordId: string, keyPrefix = 'idempotency:'): RecordKeys {
  return { response: `${keyPrefix}{${recordId}}:response`, lock: `${keyPrefix}{${recordId}}:lock` };
}
