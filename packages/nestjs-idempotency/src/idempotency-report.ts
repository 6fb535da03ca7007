/** What the idempotency layer did with a request, for logs and metrics. */
export type IdempotencyOutcome = 'fresh' | 'replay' | 'conflict' | 'mismatch' | 'store_unavailable';

export interface IdempotencyReport {
  outcome: IdempotencyOutcome;
  /** Time spent getting the lock or the stored outcome (includes waiting in wait mode). */
  lockWaitMs: number;
  /** Time the lock was held: the operation plus storing its outcome (fresh executions). */
  lockHoldMs?: number;
}
