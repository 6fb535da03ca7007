import { Inject, Injectable } from '@nestjs/common';
import { ExecutionError, Lock, Redlock, ResourceLockedError } from '@sesamecare-oss/redlock';
import { randomUUID } from 'node:crypto';
import { LuaScript, REDIS_CLIENT, REDIS_LOCK_CLIENTS, type RedisClient } from '../redis/index.js';
import { IDEMPOTENCY_MODULE_OPTIONS } from './idempotency.constants.js';
import type { IdempotencyModuleOptions } from './idempotency-module-options.interface.js';
import {
  IdempotencyStoreUnavailableError,
  type BeginResult,
  type IdempotencyLease,
  type IdempotencyStore,
  type StoredResponse,
} from './idempotency-store.interface.js';

/** One hash tag per record, so its keys share a Redis Cluster slot and one script can use both. */
export const responseKey = (recordId: string) => `idempotency:{${recordId}}:response`;
export const lockKey = (recordId: string) => `idempotency:{${recordId}}:lock`;

/**
 * "The stored outcome, or else the lock": the re-check and the acquisition in one round trip.
 * The lock is Redlock's on a single node: SET NX PX with a random owner token.
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

const IN_PROGRESS: BeginResult = { state: 'in_progress' };

/**
 * Records in Redis, locks through Redlock. When the lock lives on the store itself (one Redis, or
 * a Cluster), a replay costs one round trip and a first execution two: begin (re-check + lock)
 * and complete (store + release) are scripts, and the lock they take is handed to Redlock as a
 * `Lock`, which extends it (compare-and-extend) while the operation runs. With REDIS_LOCK_URLS the
 * lock is a Redlock quorum over those nodes, taken and released by Redlock itself.
 *
 * A duplicate of a request that this process is running is answered without Redis: the lock is
 * ours, so Redis could only say "in progress" too; one that arrives while this process is still
 * asking shares that answer. Duplicates on other instances ask Redis themselves.
 */
@Injectable()
export class RedisIdempotencyStore implements IdempotencyStore {
  private readonly redlock: Redlock;
  private readonly lockOnStore: boolean;
  /** Records whose operation runs in this process, from the lock's acquisition to its release. */
  private readonly executing = new Set<string>();
  /** Begins in flight in this process, by record: a concurrent duplicate shares the answer instead of asking too. */
  private readonly beginning = new Map<string, Promise<BeginResult>>();

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient,
    @Inject(REDIS_LOCK_CLIENTS) lockClients: RedisClient[],
    @Inject(IDEMPOTENCY_MODULE_OPTIONS) private readonly options: IdempotencyModuleOptions,
  ) {
    // No retries inside Redlock: a held lock is answered (409 or wait mode) by the caller's policy.
    this.redlock = new Redlock(lockClients, { retryCount: 0, driftFactor: 0.01 });
    this.lockOnStore = lockClients.length === 1 && lockClients[0] === redis;
  }

  async begin(recordId: string): Promise<BeginResult> {
    if (this.executing.has(recordId)) return IN_PROGRESS;
    const inFlight = this.beginning.get(recordId);
    // A lock that begin takes is its caller's; for everyone else the record is then in progress.
    if (inFlight) return inFlight.then((begun) => (begun.state === 'acquired' ? IN_PROGRESS : begun));
    const beginning = this.lockOnStore ? this.beginOnStore(recordId) : this.beginWithQuorum(recordId);
    this.beginning.set(recordId, beginning);
    try {
      const begun = await beginning;
      if (begun.state === 'acquired') this.executing.add(recordId);
      return begun;
    } finally {
      this.beginning.delete(recordId);
    }
  }

  async complete(lease: IdempotencyLease, response: StoredResponse, ttlMs: number): Promise<void> {
    const held = lease as RedlockLease;
    const body = JSON.stringify(response);
    if (!this.lockOnStore) {
      try {
        await this.redis.set(responseKey(lease.recordId), body, 'PX', ttlMs).catch(unavailable);
      } finally {
        await this.abandon(lease);
      }
      return;
    }
    held.stopExtending();
    try {
      await COMPLETE_SCRIPT.run(this.redis, [responseKey(lease.recordId), lockKey(lease.recordId)], [held.token, body, ttlMs]);
    } catch (error) {
      // The outcome may not be stored; the lock is released if possible, else it expires.
      await this.abandon(lease);
      unavailable(error);
    } finally {
      this.executing.delete(lease.recordId);
    }
  }

  async abandon(lease: IdempotencyLease): Promise<void> {
    this.executing.delete(lease.recordId);
    // A failed release only means the lock lives until its TTL.
    await (lease as RedlockLease).release().catch(() => undefined);
  }

  private async beginOnStore(recordId: string): Promise<BeginResult> {
    // A random owner token, as Redlock's; randomUUID draws from a cached entropy pool (cheap per request).
    const token = randomUUID();
    const started = Date.now();
    const reply = await BEGIN_SCRIPT.run(this.redis, [responseKey(recordId), lockKey(recordId)], [token, this.options.lockTtlMs]).catch(unavailable);
    if (reply[0] === 1) return { state: 'stored', stored: JSON.parse(reply[1]) as StoredResponse };
    if (reply[0] === 0) return IN_PROGRESS;
    // Redlock's own validity for a lock it took at `started` (clock drift and expiry precision).
    const expiration = started + this.options.lockTtlMs - Math.round(0.01 * this.options.lockTtlMs) - 2;
    const lock = new Lock(this.redlock, [lockKey(recordId)], token, [], expiration);
    return { state: 'acquired', lease: new RedlockLease(recordId, lock, this.options.lockTtlMs) };
  }

  private async beginWithQuorum(recordId: string): Promise<BeginResult> {
    const earlier = await this.find(recordId);
    if (earlier) return { state: 'stored', stored: earlier };
    let lock: Lock;
    try {
      lock = await this.redlock.acquire([lockKey(recordId)], this.options.lockTtlMs);
    } catch (error) {
      if (await heldBySomeoneElse(error)) return IN_PROGRESS;
      unavailable(error);
    }
    const lease = new RedlockLease(recordId, lock, this.options.lockTtlMs);
    try {
      // Re-check under the lock: another holder may have stored an outcome since the first look.
      const stored = await this.find(recordId);
      if (!stored) return { state: 'acquired', lease };
      await lease.release();
      return { state: 'stored', stored };
    } catch (error) {
      await this.abandon(lease);
      throw error;
    }
  }

  private async find(recordId: string): Promise<StoredResponse | undefined> {
    const raw = await this.redis.get(responseKey(recordId)).catch(unavailable);
    return raw ? (JSON.parse(raw) as StoredResponse) : undefined;
  }
}

function unavailable(error: unknown): never {
  throw new IdempotencyStoreUnavailableError(error);
}

/** Redlock reports "someone holds it" and "nodes unreachable" alike; the votes tell them apart. */
async function heldBySomeoneElse(error: unknown): Promise<boolean> {
  if (!(error instanceof ExecutionError)) return false;
  const attempts = await Promise.all(error.attempts);
  return attempts.some((attempt) => [...attempt.votesAgainst.values()].some((vote) => vote instanceof ResourceLockedError));
}

/** Keeps a Redlock lock alive by extending it every third of its TTL until released. */
class RedlockLease implements IdempotencyLease {
  private readonly controller = new AbortController();
  private timer?: NodeJS.Timeout;
  private extension?: Promise<void>;
  private extending = true;
  private released = false;

  constructor(
    readonly recordId: string,
    private lock: Lock,
    private readonly ttlMs: number,
  ) {
    this.schedule();
  }

  get lost(): AbortSignal {
    return this.controller.signal;
  }

  get token(): string {
    return this.lock.value;
  }

  /** Before a release done elsewhere (the complete script): no more extensions. */
  stopExtending(): void {
    this.extending = false;
    clearTimeout(this.timer);
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    this.stopExtending();
    await this.extension;
    await this.lock.release();
  }

  private schedule(): void {
    // eslint-disable-next-line @typescript-eslint/no-misused-promises -- kept in this.extension, awaited by release()
    this.timer = setTimeout(() => (this.extension = this.extend()), Math.floor(this.ttlMs / 3));
  }

  private async extend(): Promise<void> {
    try {
      this.lock = await this.lock.extend(this.ttlMs);
    } catch (error) {
      // Retry at the next tick while the lock may still be ours; once it has expired it is lost.
      if (this.lock.expiration <= Date.now()) {
        this.controller.abort(error);
        return;
      }
    }
    if (this.extending) this.schedule();
  }
}
