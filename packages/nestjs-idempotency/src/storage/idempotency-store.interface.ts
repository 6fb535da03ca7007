/** An outcome as it left the app, replayed byte for byte. */
export interface StoredResponse {
  /** Fingerprint of the request that produced it: another payload under the same key is refused. */
  fingerprint: string;
  status: number;
  /** Lower-case names: the content type and the replayed headers. */
  headers: Record<string, string>;
  /** The body as text; base64 when `binary` is set, or when `sealedBy` is (then it holds headers and body). */
  body: string;
  binary?: boolean;
  /** Id of the key `body` is sealed with (AES-256-GCM), when the module encrypts stored responses. */
  sealedBy?: string;
}

/**
 * Proof of holding a record's lock, from `begin` until `complete` or `release`. A lease keeps its
 * lock alive (extends it) while its operation runs, up to the hold limit it was given.
 */
export interface IdempotencyLease {
  readonly recordId: string;
  /** Aborts when the lock could no longer be kept: exclusivity is not certain past that point. */
  readonly lost: AbortSignal;
  /**
   * Stores the outcome for `ttlMs` and releases the lock: a compare-and-set on this lease's owner
   * token. Resolves false when another holder took the lock over (it then stores its own outcome,
   * which this never replaces, even after that holder completed).
   */
  complete(response: StoredResponse, ttlMs: number): Promise<boolean>;
  /** Releases the lock without storing anything, if this lease still holds it; the key is free again. */
  release(): Promise<void>;
}

/**
 * What `begin` found: the lock, now held by the caller; an outcome stored earlier; or the lock held
 * by someone else (answered, not thrown: a retry storm on one key is this path, so it stays cheap).
 */
export type BeginResult =
  | { state: 'acquired'; lease: IdempotencyLease }
  /** `expiresAt` (ms since the epoch), from stores that know it: how long a copy of the outcome may live elsewhere. */
  | { state: 'stored'; stored: StoredResponse; expiresAt?: number }
  | { state: 'in_progress' };

export interface LockOptions {
  /** How long the lock lives without being extended: what a crashed holder costs its key. */
  lockTtlMs: number;
  /** How long a holder may keep extending it; past that the lock expires after its TTL. Infinity: no limit. */
  maxHoldMs: number;
}

/**
 * Where idempotency records and their locks live. Durations are whole milliseconds; record ids are
 * compared exactly. Implementations fail closed: any doubt rejects (IdempotencyStoreUnavailableError),
 * so the operation does not run. The layer puts a deadline on every call, whatever the store does.
 */
export interface IdempotencyStore {
  /**
   * One atomic step: the record's stored outcome if there is one, else its lock with a new owner
   * token, else `in_progress` while someone else holds it.
   */
  begin(recordId: string, lock: LockOptions): Promise<BeginResult>;
  /** Whether someone holds the record's lock now: a live execution, or one that crashed within its lock TTL. */
  isLocked(recordId: string): Promise<boolean>;
  /**
   * Optional capability: `begin` inside the caller's own database transaction, given as the
   * store's handle for it (for the PostgreSQL store, a `pg` client between BEGIN and COMMIT). The
   * record is written by that transaction, and so is the outcome its lease completes: the caller's
   * commit keeps the work and its record together, a rollback neither. Until the transaction ends
   * the record is held by it: a concurrent `begin` of the same record waits, then finds the
   * committed outcome, or the record free after a rollback. The lease needs no renewal and is
   * never lost. `IdempotencyService.run(work, operation, { transaction })` uses it, and refuses
   * stores without it.
   */
  beginInTransaction?(transaction: unknown, recordId: string, lock: LockOptions): Promise<BeginResult>;
}

export const IDEMPOTENCY_STORE = Symbol('IDEMPOTENCY:STORE');
