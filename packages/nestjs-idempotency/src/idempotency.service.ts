import { Inject, Injectable, type ExecutionContext } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { fingerprintOf } from './fingerprint.js';
import { IDEMPOTENCY_OPTIONS } from './idempotency.constants.js';
import {
  IdempotencyConflictError,
  IdempotencyKeyReusedError,
  IdempotencyRecordUnreadableError,
  IdempotencyStoreUnavailableError,
} from './idempotency.exceptions.js';
import type { ResolvedIdempotencyOptions } from './idempotency-options.interface.js';
import type { IdempotencyOutcome } from './idempotency-report.js';
import { recordIdOf } from './idempotency-scope.js';
import { ttlFor, type RetentionPolicy } from './retention.js';
import { ResponseCipher } from './response-cipher.js';
import {
  IDEMPOTENCY_STORE,
  type BeginResult,
  type IdempotencyLease,
  type IdempotencyStore,
  type LockOptions,
  type StoredResponse,
} from './storage/idempotency-store.interface.js';
import { IN_PROGRESS } from './storage/store-common.js';

/** One keyed call: its record and the fingerprint a retry must match. */
export interface IdempotentCall {
  recordId: string;
  fingerprint: string;
  /** The caller's database transaction to write the record in, with a store that can (see `RunOptions`). */
  transaction?: unknown;
  /** How long a duplicate waits for the running call's outcome; default the module's `waitTimeoutMs`. */
  waitTimeoutMs?: number;
}

/** A call that holds its record's lock: it runs, then `finish` stores its outcome or frees the key. */
export interface IdempotencyAttempt extends IdempotentCall {
  /** The lock; its `lost` aborts when the lock could not be kept: check it before irreversible steps. */
  readonly lease: IdempotencyLease;
  readonly waitStarted: number;
  readonly heldSince: number;
}

export type Started = { state: 'replay'; response: StoredResponse } | { state: 'acquired'; attempt: IdempotencyAttempt };

/** What an attempt produced, in wire form, and the error its handler threw, if any. */
export interface AttemptOutcome {
  status: number;
  headers: Record<string, string>;
  body: string;
  binary?: boolean;
  error?: unknown;
}

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

export interface RunOptions {
  /**
   * The caller's own database transaction, for the record to be written in it with the work: with
   * the PostgreSQL store, a `pg` client between the caller's BEGIN and its COMMIT, on which the
   * operation runs its statements too. The outcome is written in it before `run` returns; the
   * caller's commit keeps the work and its record, a rollback neither. A concurrent call with the
   * same key on another instance waits for that transaction to end (up to `storeTimeoutMs`), then
   * replays the committed outcome, or runs after a rollback; in this process, one made while the
   * operation runs gets IdempotencyConflictError (unless it waits: `waitTimeoutMs`). Stores that
   * cannot are refused.
   */
  transaction?: unknown;
  /** How long a call made while the same work runs waits for its outcome; default the module's `waitTimeoutMs`. */
  waitTimeoutMs?: number;
}

export interface IdempotentResult<T> {
  value: T;
  /** True when `value` is the stored result of an earlier execution. */
  replayed: boolean;
}

class StoreDeadlineError extends Error {
  constructor(ms: number) {
    super(`The idempotency store did not answer within ${ms} ms`);
  }
}

/**
 * The idempotency lifecycle, once for every kind of caller: `start` (the stored outcome, 409, 422,
 * or the lock), then the caller runs its work, then `finish` (store the outcome by the retention
 * rules, or free the key). The HTTP interceptor and `run` (any function, e.g. a message handler)
 * adapt it. Every store call has a deadline; past it the caller gets 503 and nothing runs.
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
  /** The 409 for every duplicate: one error, since building one per duplicate costs a stack trace each. */
  readonly conflict: IdempotencyConflictError;
  private readonly lock: LockOptions;
  private readonly cipher?: ResponseCipher;

  constructor(
    @Inject(IDEMPOTENCY_STORE) private readonly store: IdempotencyStore,
    @Inject(IDEMPOTENCY_OPTIONS) private readonly options: ResolvedIdempotencyOptions,
  ) {
    this.conflict = new IdempotencyConflictError(options.retryAfterSeconds);
    this.lock = { lockTtlMs: options.lockTtlMs, maxHoldMs: options.maxLockHoldMs };
    this.cipher = options.encryption && new ResponseCipher(options.encryption);
  }

  /**
   * The stored outcome (a replay), or the lock (an attempt to run and `finish`). Rejects with
   * IdempotencyConflictError while another holds the lock (after waiting, in wait mode),
   * IdempotencyKeyReusedError for another fingerprint, IdempotencyStoreUnavailableError when the
   * store does not answer in time.
   */
  async start(call: IdempotentCall, context?: ExecutionContext): Promise<Started> {
    if (call.transaction !== undefined && !this.store.beginInTransaction) {
      throw new TypeError(
        `${this.store.constructor.name} cannot write records in the caller's transaction; a transaction needs a store with beginInTransaction: PostgresIdempotencyStore (@idempotent-payments/nestjs-idempotency/postgres)`,
      );
    }
    const waitStarted = performance.now();
    let begun: BeginResult;
    try {
      begun = await this.begin(call.recordId, call.transaction, call.waitTimeoutMs ?? this.options.waitTimeoutMs);
    } catch (error) {
      this.report('store_unavailable', waitStarted, context);
      throw error;
    }
    if (begun.state === 'acquired') {
      const attempt = { recordId: call.recordId, fingerprint: call.fingerprint, lease: begun.lease, waitStarted, heldSince: performance.now() };
      return { state: 'acquired', attempt };
    }
    if (begun.state === 'in_progress') {
      this.report('conflict', waitStarted, context);
      throw this.conflict;
    }
    if (begun.stored.fingerprint !== call.fingerprint) {
      this.report('mismatch', waitStarted, context);
      throw new IdempotencyKeyReusedError();
    }
    this.report('replay', waitStarted, context);
    return { state: 'replay', response: withRetryAfter(this.open(call.recordId, begun.stored), begun.expiresAt) };
  }

  /**
   * Stores the attempt's outcome for its TTL (by status, or `storeIf`) and releases the lock; with
   * no outcome, or one that is not stored, only frees the key. Rejects with
   * IdempotencyStoreUnavailableError when the outcome could not be stored in time.
   */
  async finish(attempt: IdempotencyAttempt, outcome: AttemptOutcome | undefined, policy: RetentionPolicy, context?: ExecutionContext): Promise<void> {
    try {
      const ttlMs = outcome && ttlFor(outcome.status, outcome.error, policy);
      if (ttlMs === undefined) {
        // A lock that cannot be released expires with its TTL.
        await this.withDeadline(attempt.lease.release()).catch(() => undefined);
      } else {
        const { status, headers, body, binary } = outcome!;
        const stored: StoredResponse = { fingerprint: attempt.fingerprint, status, headers, body, ...(binary ? { binary } : {}) };
        await this.withDeadline(attempt.lease.complete(this.cipher ? this.cipher.seal(attempt.recordId, stored) : stored, ttlMs)).catch((error: unknown) => {
          this.report('store_unavailable', attempt.waitStarted, context);
          throw this.unavailable(error);
        });
      }
    } finally {
      this.executing.delete(attempt.recordId);
    }
    if (context)
      this.options.onOutcome?.(
        { outcome: 'fresh', lockWaitMs: attempt.heldSince - attempt.waitStarted, lockHoldMs: performance.now() - attempt.heldSince },
        context,
      );
  }

  /**
   * Runs `operation` once per (scope, key): a later call gets the stored value (`replayed`). A
   * call while another runs rejects with IdempotencyConflictError (after waiting, in wait mode);
   * another payload with IdempotencyKeyReusedError. An operation that throws stores nothing, so
   * the key is free for the next delivery. `lockLost` aborts when the lock could not be kept. With
   * `options.transaction` the record is written in the caller's transaction (see RunOptions).
   */
  async run<T>(work: IdempotentWork, operation: (lockLost: AbortSignal) => Promise<T>, options: RunOptions = {}): Promise<IdempotentResult<T>> {
    const call = { recordId: this.recordIdOf(work), fingerprint: fingerprintOf(work.payload ?? null), ...options };
    return this.runCall(call, operation, work.ttlMs);
  }

  /** `run` for a call whose record id and fingerprint are known (a message handler's). */
  async runCall<T>(
    call: IdempotentCall,
    operation: (lockLost: AbortSignal) => Promise<T>,
    ttlMs?: number,
    context?: ExecutionContext,
  ): Promise<IdempotentResult<T>> {
    const started = await this.start(call, context);
    if (started.state === 'replay') {
      const { body } = started.response;
      return { value: (body === '' ? undefined : JSON.parse(body)) as T, replayed: true };
    }
    const { attempt } = started;
    const policy = { resultTtlMs: ttlMs ?? this.options.resultTtlMs, errorTtlMs: this.options.errorTtlMs };
    let value: T;
    try {
      value = await operation(attempt.lease.lost);
    } catch (error) {
      await this.finish(attempt, undefined, policy, context);
      throw error;
    }
    await this.finish(attempt, { status: 200, headers: {}, body: JSON.stringify(value) ?? '' }, policy, context);
    return { value, replayed: false };
  }

  /** Whether an execution holds the record's lock: one in this process, or anywhere the store knows of. */
  async isLocked(recordId: string): Promise<boolean> {
    if (this.executing.has(recordId)) return true;
    try {
      return await this.withDeadline(this.store.isLocked(recordId));
    } catch (error) {
      throw this.unavailable(error);
    }
  }

  /** The record id of a unit of work, for `isLocked`. */
  recordIdOf(work: Pick<IdempotentWork, 'scope' | 'key'>): string {
    return recordIdOf([work.scope, work.key]);
  }

  /** In wait mode a duplicate asks again until the first stored its outcome or the bound passes. */
  private async begin(recordId: string, transaction: unknown, waitTimeoutMs: number): Promise<BeginResult> {
    let begun = await this.beginOnce(recordId, transaction);
    if (begun.state !== 'in_progress' || waitTimeoutMs === 0) return begun;
    const deadline = Date.now() + waitTimeoutMs;
    for (let delayMs = 20; begun.state === 'in_progress'; delayMs = Math.min(delayMs * 2, 200)) {
      const remainingMs = deadline - Date.now();
      if (remainingMs <= 0) break;
      await sleep(Math.min(delayMs, remainingMs));
      begun = await this.beginOnce(recordId, transaction);
    }
    return begun;
  }

  private beginOnce(recordId: string, transaction: unknown): Promise<BeginResult> {
    if (this.executing.has(recordId)) return Promise.resolve(IN_PROGRESS);
    const inFlight = this.beginning.get(recordId);
    // A lock that begin takes is its caller's; for everyone else the record is then in progress.
    if (inFlight) return inFlight.then((begun) => (begun.state === 'acquired' ? IN_PROGRESS : begun));
    const begun = transaction === undefined ? this.store.begin(recordId, this.lock) : this.store.beginInTransaction!(transaction, recordId, this.lock);
    const answer = this.withDeadline(begun).then(
      (result) => {
        this.beginning.delete(recordId);
        if (result.state === 'acquired') this.executing.add(recordId);
        return result;
      },
      (error: unknown) => {
        this.beginning.delete(recordId);
        // A lock taken after the deadline is released, never used: its caller already got 503.
        begun.then((late) => (late.state === 'acquired' ? late.lease.release() : undefined)).catch(() => undefined);
        throw this.unavailable(error);
      },
    );
    this.beginning.set(recordId, answer);
    return answer;
  }

  private open(recordId: string, stored: StoredResponse): StoredResponse {
    if (stored.sealedBy === undefined) return stored;
    try {
      return this.cipher!.open(recordId, stored);
    } catch (error) {
      // Running again could repeat what the record proves already happened: fail closed.
      throw new IdempotencyRecordUnreadableError(error);
    }
  }

  /** The store's answer, or a StoreDeadlineError once `storeTimeoutMs` has passed without one. */
  private withDeadline<T>(promise: Promise<T>): Promise<T> {
    const ms = this.options.storeTimeoutMs;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new StoreDeadlineError(ms)), ms);
      promise.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error as Error);
        },
      );
    });
  }

  private unavailable(error: unknown): IdempotencyStoreUnavailableError {
    const cause = error instanceof IdempotencyStoreUnavailableError ? error.cause : error;
    return new IdempotencyStoreUnavailableError(cause, this.options.retryAfterSeconds);
  }

  private report(outcome: IdempotencyOutcome, waitStarted: number, context?: ExecutionContext): void {
    if (context) this.options.onOutcome?.({ outcome, lockWaitMs: performance.now() - waitStarted }, context);
  }
}

/**
 * A replayed transient error (5xx, kept for the error TTL) says when it expires with Retry-After:
 * the earliest a retry with the key runs again rather than getting the same answer.
 */
function withRetryAfter(response: StoredResponse, expiresAt: number | undefined): StoredResponse {
  if (response.status < 500 || expiresAt === undefined || response.headers['retry-after'] !== undefined) return response;
  const seconds = Math.max(1, Math.ceil((expiresAt - Date.now()) / 1000));
  return { ...response, headers: { ...response.headers, 'retry-after': String(seconds) } };
}
