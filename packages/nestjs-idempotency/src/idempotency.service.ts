import { Inject, Injectable } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { fingerprintOf } from './fingerprint.js';
import { IDEMPOTENCY_OPTIONS } from './idempotency.constants.js';
import { IdempotencyConflictError, IdempotencyKeyReusedError, IdempotencyStoreUnavailableError } from './idempotency.exceptions.js';
import type { ResolvedIdempotencyOptions } from './idempotency-options.interface.js';
import { recordIdOf } from './idempotency-scope.js';
import {
  IDEMPOTENCY_STORE,
  type BeginResult,
  type IdempotencyLease,
  type IdempotencyStore,
  type StoredResponse,
} from './storage/idempotency-store.interface.js';

const IN_PROGRESS: BeginResult = { state: 'in_progress' };

/** One unit of work that is not an HTTP request: a stream consumer's event, a webhook, a job. */
export interface IdempotentWork {
  /** What the key belongs to, e.g. `webhooks:gateway` or a consumer group. */
  scope: string;
  key: string;
  /** What the work is about: the same key with another payload is refused (IdempotencyKeyReusedError). */
  payload?: unknown;
  /** How long the result is kept; default the module's result TTL. */
  ttlMs?: number;
}

export interface IdempotentResult<T> {
  value: T;
  /** True when `value` is the stored result of an earlier execution. */
  replayed: boolean;
}

/**
 * The idempotency layer without HTTP: begin (the stored outcome, or the lock), complete (store,
 * release), abandon. The interceptor runs requests through it, and `run` runs any function once
 * per (scope, key) with the same store, TTLs and fingerprint.
 *
 * For every store, a duplicate of a record this process is executing is answered without asking
 * the store (the lock is ours, so the store could only say "in progress"), and duplicates that
 * arrive while this process is still asking share that one answer.
 */
@Injectable()
export class IdempotencyService {
  /** Records whose operation runs in this process, from the lock's acquisition to its release. */
  private readonly executing = new Set<string>();
  /** Begins in flight in this process, by record. */
  private readonly beginning = new Map<string, Promise<BeginResult>>();

  constructor(
    @Inject(IDEMPOTENCY_STORE) private readonly store: IdempotencyStore,
    @Inject(IDEMPOTENCY_OPTIONS) private readonly options: ResolvedIdempotencyOptions,
  ) {}

  /**
   * The stored outcome, or the lock (the caller then completes or abandons it), or in progress.
   * In wait mode a duplicate asks again until the first stored its outcome or the bound passes.
   * Rejects with IdempotencyStoreUnavailableError when the store cannot answer.
   */
  async begin(recordId: string): Promise<BeginResult> {
    let begun = await this.beginOnce(recordId);
    const deadline = Date.now() + this.options.waitTimeoutMs;
    for (let delayMs = 20; begun.state === 'in_progress'; delayMs = Math.min(delayMs * 2, 200)) {
      const remainingMs = deadline - Date.now();
      if (remainingMs <= 0) break;
      await sleep(Math.min(delayMs, remainingMs));
      begun = await this.beginOnce(recordId);
    }
    return begun;
  }

  /** Stores the outcome for `ttlMs` and releases the lock; rejects with IdempotencyStoreUnavailableError. */
  async complete(lease: IdempotencyLease, response: StoredResponse, ttlMs: number): Promise<void> {
    try {
      await this.store.complete(lease, response, ttlMs);
    } catch (error) {
      throw this.unavailable(error);
    } finally {
      this.executing.delete(lease.recordId);
    }
  }

  /** Releases the lock without storing anything: the key is free again. */
  async abandon(lease: IdempotencyLease): Promise<void> {
    this.executing.delete(lease.recordId);
    // A lock that cannot be released expires with its TTL.
    await this.store.abandon(lease).catch(() => undefined);
  }

  /** Whether an execution holds the record's lock: one in this process, or anywhere the store knows of. */
  async isLocked(recordId: string): Promise<boolean> {
    if (this.executing.has(recordId)) return true;
    try {
      return await this.store.isLocked(recordId);
    } catch (error) {
      throw this.unavailable(error);
    }
  }

  /** The record id of a unit of work, for `isLocked`. */
  recordIdOf(work: Pick<IdempotentWork, 'scope' | 'key'>): string {
    return recordIdOf([work.scope, work.key]);
  }

  /**
   * Runs `operation` once per (scope, key): a later call gets the stored value (`replayed`). A
   * call while another runs rejects with IdempotencyConflictError (after waiting, in wait mode);
   * another payload with IdempotencyKeyReusedError. An operation that throws stores nothing, so
   * the key is free for the next delivery. `lockLost` aborts when the lock could not be kept.
   */
  async run<T>(work: IdempotentWork, operation: (lockLost: AbortSignal) => Promise<T>): Promise<IdempotentResult<T>> {
    const fingerprint = fingerprintOf(work.payload ?? null);
    const begun = await this.begin(this.recordIdOf(work));
    if (begun.state === 'in_progress') throw new IdempotencyConflictError(this.options.retryAfterSeconds);
    if (begun.state === 'stored') {
      if (begun.stored.fingerprint !== fingerprint) throw new IdempotencyKeyReusedError();
      return { value: (begun.stored.body === '' ? undefined : JSON.parse(begun.stored.body)) as T, replayed: true };
    }
    let value: T;
    try {
      value = await operation(begun.lease.lost);
    } catch (error) {
      await this.abandon(begun.lease);
      throw error;
    }
    const stored = { status: 200, headers: {}, body: JSON.stringify(value) ?? '', fingerprint, storedAt: new Date().toISOString() };
    await this.complete(begun.lease, stored, work.ttlMs ?? this.options.resultTtlMs);
    return { value, replayed: false };
  }

  private async beginOnce(recordId: string): Promise<BeginResult> {
    if (this.executing.has(recordId)) return IN_PROGRESS;
    const inFlight = this.beginning.get(recordId);
    // A lock that begin takes is its caller's; for everyone else the record is then in progress.
    if (inFlight) {
      return inFlight.then(
        (begun) => (begun.state === 'acquired' ? IN_PROGRESS : begun),
        (error: unknown) => Promise.reject(this.unavailable(error)),
      );
    }
    const beginning = this.store.begin(recordId, this.options.lockTtlMs);
    this.beginning.set(recordId, beginning);
    try {
      const begun = await beginning;
      if (begun.state === 'acquired') this.executing.add(recordId);
      return begun;
    } catch (error) {
      throw this.unavailable(error);
    } finally {
      this.beginning.delete(recordId);
    }
  }

  private unavailable(error: unknown): IdempotencyStoreUnavailableError {
    const cause = error instanceof IdempotencyStoreUnavailableError ? error.cause : error;
    return new IdempotencyStoreUnavailableError(cause, this.options.retryAfterSeconds);
  }
}
