import type { components } from './schema.js';

export type Problem = components['schemas']['ProblemDocumentSchema'];

/** Every error of `charge` names the key, so the payment can be looked up or retried later with it. */
export abstract class PaymentError extends Error {
  constructor(
    message: string,
    /** The payment's Idempotency-Key: retry with it, never with a new one. */
    readonly idempotencyKey: string,
    /** Requests sent for this call (0 when it was refused before sending). */
    readonly attempts: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * The service answered with what a retry cannot change (400, 401, 402, 403, 404, 422, …): a decline,
 * an invalid request, a key already used for another payment. Final for this key.
 */
export class PaymentRejectedError extends PaymentError {
  /** The problem's stable `code`, e.g. CARD_DECLINED or VALIDATION_FAILED. */
  readonly code: string | undefined;

  constructor(
    readonly status: number,
    readonly problem: Problem | undefined,
    idempotencyKey: string,
    attempts: number,
  ) {
    super(
      `${status} ${problem?.code ?? 'error'}: ${problem?.detail ?? 'the service refused the charge'} (Idempotency-Key ${idempotencyKey})`,
      idempotencyKey,
      attempts,
    );
    this.code = problem?.code;
  }
}

/**
 * No final answer within the deadline or the attempts: the charge may or may not have been made.
 * Retrying later with the same key finishes it or replays it; a new key could charge twice.
 */
export class PaymentNotSettledError extends PaymentError {
  constructor(
    /** What ended the call. */
    readonly reason: 'deadline' | 'attempts',
    /** The last answer's status, or undefined when the last attempt got none (connection error, timeout). */
    readonly lastStatus: number | undefined,
    idempotencyKey: string,
    attempts: number,
    cause: unknown,
  ) {
    const last = lastStatus === undefined ? `no answer (${describe(cause)})` : `${lastStatus}`;
    const ended = reason === 'deadline' ? 'the deadline passed' : `${attempts} attempts were made`;
    super(`Not settled: ${ended}, the last attempt got ${last}; retry later with the same Idempotency-Key ${idempotencyKey}`, idempotencyKey, attempts, {
      cause,
    });
  }
}

/** The client already sent this key with another body: a second payment needs its own key. Nothing was sent. */
export class IdempotencyKeyReusedError extends PaymentError {
  readonly code = 'IDEMPOTENCY_KEY_REUSED';

  constructor(idempotencyKey: string) {
    super(`Idempotency-Key ${idempotencyKey} was already sent with another body; a different payment needs a new key`, idempotencyKey, 0);
  }
}

function describe(error: unknown): string {
  // fetch wraps the socket's error ("fetch failed"); its cause has the useful part (ECONNRESET, …).
  const cause = error instanceof Error ? (error.cause as { code?: string } | undefined) : undefined;
  return cause?.code ?? (error instanceof Error ? error.message : String(error));
}
