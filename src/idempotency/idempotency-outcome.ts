import type { Response } from 'express';

/** What the idempotency layer did with a request, for logs and metrics. */
export type IdempotencyOutcome = 'fresh' | 'replay' | 'conflict' | 'mismatch' | 'store_unavailable';

export interface IdempotencyReport {
  outcome: IdempotencyOutcome;
  /** Time spent getting the lock or the stored outcome (includes waiting in wait mode). */
  lockWaitMs?: number;
  /** Time the lock was held: the operation plus storing its outcome. */
  lockHoldMs?: number;
}

/** Kept on `response.locals`, where request logging and metrics read it once the response is sent. */
export const idempotencyReportOf = (response: Response): IdempotencyReport | undefined =>
  (response.locals as { idempotency?: IdempotencyReport }).idempotency;

export function reportIdempotency(response: Response, report: IdempotencyReport): void {
  (response.locals as { idempotency?: IdempotencyReport }).idempotency = report;
}
