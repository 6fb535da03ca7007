import { Inject, Injectable } from '@nestjs/common';
import { ExecutionError, Lock, Redlock, ResourceLockedError } from '@sesamecare-oss/redlock';
import { randomUUID } from 'node:crypto';
import { REDIS_CLIENT, REDIS_LOCK_CLIENTS, type RedisClient } from '../redis/index.js';
import { IDEMPOTENCY_MODULE_OPTIONS } from './idempotency.constants.js';
import type { IdempotencyModuleOptions } from './idempotency-module-options.interface.js';
import {
  IdempotencyLockHeldError,
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
const BEGIN_SCRIPT = `
local stored = redis.call('GET', KEYS[1])
if stored then return {1, stored} end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {2} end
return {0}
`;

/** Stores the outcome, then releases the lock only if this owner still holds it (compare-and-delete). */
const COMPLETE_SCRIPT = `
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
return 1
`;

interface IdempotencyScripts {
  idempotencyBegin(response: string, lock: string, token: string, ttlMs: number): Promise<[1, string] | [2] | [0]>;
  idempotencyComplete(response: string, lock: string, token: string, body: string, ttlMs: number): Promise<1>;
}

/**
 * Records in Redis, locks through Redlock. When the lock lives on the store itself (one Redis, or
 * a Cluster), a replay costs one round trip and a first execution two: begin (re-check + lock)
 * and complete (store + release) are scripts, and the lock they take is handed to Redlock as a
 * `Lock`, which extends it (compare-and-extend) while the operation runs. With REDIS_LOCK_URLS the
 * lock is a Redlock quorum over those nodes, taken and released by Redlock itself.
 */
@Injectable()
export class RedisIdempotencyStore implements IdempotencyStore {
  private readonly redlock: Redlock;
  private readonly lockOnStore: boolean;
  private readonly scripts: IdempotencyScripts;

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient,
    @Inject(REDIS_LOCK_CLIENTS) lockClients: RedisClient[],
    @Inject(IDEMPOTENCY_MODULE_OPTIONS) private readonly options: IdempotencyModuleOptions,
  ) {
    // No retries inside Redlock: a held lock is answered (409 or wait mode) by the caller's policy.
    this.redlock = new Redlock(lockClients, { retryCount: 0, driftFactor: 0.01 });
    this.lockOnStore = lockClients.length === 1 && lockClients[0] === redis;
    redis.defineCommand('idempotencyBegin', { numberOfKeys: 2, lua: BEGIN_SCRIPT });
    redis.defineCommand('idempotencyComplete', { numberOfKeys: 2, lua: COMPLETE_SCRIPT });
    this.scripts = redis as unknown as IdempotencyScripts;
  }

  async begin(recordId: string): Promise<BeginResult> {
    return this.lockOnStore ? this.beginOnStore(recordId) : this.beginWithQuorum(recordId);
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
    await this.scripts
      .idempotencyComplete(responseKey(lease.recordId), lockKey(lease.recordId), held.token, body, ttlMs)
      .catch(async (error: unknown) => {
        // The outcome may not be stored; the lock is released if possible, else it expires.
        await this.abandon(lease);
        unavailable(error);
      });
  }

  async abandon(lease: IdempotencyLease): Promise<void> {
    // A failed release only means the lock lives until its TTL.
    await (lease as RedlockLease).release().catch(() => undefined);
  }

  private async beginOnStore(recordId: string): Promise<BeginResult> {
    // A random owner token, as Redlock's; randomUUID draws from a cached entropy pool (cheap per request).
    const token = randomUUID();
    const started = Date.now();
    const reply = await this.scripts.idempotencyBegin(responseKey(recordId), lockKey(recordId), token, this.options.lockTtlMs).catch(unavailable);
    if (reply[0] === 1) return { stored: JSON.parse(reply[1]) as StoredResponse };
    if (reply[0] === 0) throw new IdempotencyLockHeldError(recordId);
    // Redlock's own validity for a lock it took at `started` (clock drift and expiry precision).
    const expiration = started + this.options.lockTtlMs - Math.round(0.01 * this.options.lockTtlMs) - 2;
    const lock = new Lock(this.redlock, [lockKey(recordId)], token, [], expiration);
    return { lease: new RedlockLease(recordId, lock, this.options.lockTtlMs) };
  }

  private async beginWithQuorum(recordId: string): Promise<BeginResult> {
    const earlier = await this.find(recordId);
    if (earlier) return { stored: earlier };
    const lock = await this.redlock.acquire([lockKey(recordId)], this.options.lockTtlMs).catch(async (error) => {
      throw await lockFailure(error, recordId);
    });
    const lease = new RedlockLease(recordId, lock, this.options.lockTtlMs);
    try {
      // Re-check under the lock: another holder may have stored an outcome since the first look.
      const stored = await this.find(recordId);
      if (!stored) return { lease };
      await lease.release();
      return { stored };
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
async function lockFailure(error: unknown, recordId: string): Promise<Error> {
  if (error instanceof ExecutionError) {
    const attempts = await Promise.all(error.attempts);
    const held = attempts.some((attempt) =>
      [...attempt.votesAgainst.values()].some((vote) => vote instanceof ResourceLockedError),
    );
    if (held) return new IdempotencyLockHeldError(recordId);
  }
  return new IdempotencyStoreUnavailableError(error);
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
