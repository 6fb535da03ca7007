import { createPaymentsApi, type PaymentsApi } from './api.js';
import { IdempotencyKeyReusedError, PaymentNotSettledError, PaymentRejectedError, type Problem } from './errors.js';
import { DEFAULT_BACKOFF, delayBeforeRetry, isRetryable, parseRetryAfter, type Backoff } from './retry-policy.js';
import type { components } from './schema.js';

export type ChargeRequest = components['schemas']['ChargeRequestDto'];
export type Charge = components['schemas']['Payment'];

export interface PaymentsClientOptions {
  /** Where the service is, e.g. https://payments.example.com */
  baseUrl: string;
  /** The merchant's API key, sent as `Authorization: Bearer <key>`. */
  apiKey?: string;
  /** Other headers for every request (e.g. X-Admin-Token for the admin routes of `api`). */
  headers?: Record<string, string>;
  /** A fetch of your own (a proxy agent, instrumentation); the global fetch by default. */
  fetch?: typeof fetch;
  /** Defaults of every charge: see ChargeOptions. */
  deadlineMs?: number;
  maxAttempts?: number;
  /** One request waits this long for its answer before it counts as a timeout and is retried. Default 10 s. */
  attemptTimeoutMs?: number;
  backoff?: Partial<Backoff>;
  /** How many keys' bodies the client remembers to refuse a key reused with another body. Default 10,000. */
  rememberedKeys?: number;
}

export interface ChargeOptions {
  /** The payment's key: give the one you stored with the order, so a retry after a restart keeps it. A UUIDv4 otherwise. */
  idempotencyKey?: string;
  /** The whole call, all attempts and waits included, ends by then. Default 60 s (a transient error is kept 30 s). */
  deadlineMs?: number;
  /** Requests at most. Default 8. */
  maxAttempts?: number;
  /** Stops the call: the request in flight and the wait between attempts. */
  signal?: AbortSignal;
}

export interface ChargeResult {
  charge: Charge;
  /** Requests sent, this one included. */
  attempts: number;
  /** The answer was the stored outcome of an earlier request with the key (`Idempotency-Cached: true`). */
  replayed: boolean;
}

/** What one attempt brought back when it did not settle the call. */
type Unsettled = { status: number; retryAfterMs: number | undefined } | { status: undefined; error: unknown };

/**
 * The payments service's client. `charge` makes one Idempotency-Key per payment and keeps it for
 * every retry of that payment, retrying only what a retry can change; `api` is the whole typed API
 * (orders, lookup by key, receipts, admin) for single requests.
 */
export class PaymentsClient {
  readonly api: PaymentsApi;
  private readonly defaults: Required<Pick<PaymentsClientOptions, 'deadlineMs' | 'maxAttempts' | 'attemptTimeoutMs' | 'rememberedKeys'>> & { backoff: Backoff };
  /** Key → the body it was sent with (canonical JSON), oldest first, bounded. */
  private readonly sentBodies = new Map<string, string>();

  constructor(options: PaymentsClientOptions) {
    const headers = { ...options.headers, ...(options.apiKey ? { Authorization: `Bearer ${options.apiKey}` } : {}) };
    this.api = createPaymentsApi(options.baseUrl, { headers, fetch: options.fetch });
    this.defaults = {
      deadlineMs: options.deadlineMs ?? 60_000,
      maxAttempts: options.maxAttempts ?? 8,
      attemptTimeoutMs: options.attemptTimeoutMs ?? 10_000,
      rememberedKeys: options.rememberedKeys ?? 10_000,
      backoff: { ...DEFAULT_BACKOFF, ...options.backoff },
    };
  }

  /**
   * Charges once, whatever happens to the requests on the way. Resolves with the charge, or rejects
   * with PaymentRejectedError (final: a decline, an invalid request), PaymentNotSettledError (no
   * final answer in time: retry later with the same key), IdempotencyKeyReusedError (nothing sent),
   * or the signal's reason.
   */
  async charge(body: ChargeRequest, options: ChargeOptions = {}): Promise<ChargeResult> {
    const key = options.idempotencyKey ?? crypto.randomUUID();
    this.remember(key, body);
    const deadline = Date.now() + (options.deadlineMs ?? this.defaults.deadlineMs);
    const maxAttempts = options.maxAttempts ?? this.defaults.maxAttempts;
    for (let attempts = 1; ; attempts++) {
      const timeoutMs = Math.min(this.defaults.attemptTimeoutMs, deadline - Date.now());
      const outcome = await this.attempt(key, body, timeoutMs, attempts, options.signal);
      if ('charge' in outcome) return outcome;
      const lastStatus = outcome.status;
      const cause = outcome.status === undefined ? outcome.error : undefined;
      if (attempts >= maxAttempts) throw new PaymentNotSettledError('attempts', lastStatus, key, attempts, cause);
      const delayMs = delayBeforeRetry(attempts, outcome.status === undefined ? undefined : outcome.retryAfterMs, this.defaults.backoff);
      // A wait that ends past the deadline is not started: the call ends now with what it knows.
      if (Date.now() + delayMs >= deadline) throw new PaymentNotSettledError('deadline', lastStatus, key, attempts, cause);
      await wait(delayMs, options.signal);
    }
  }

  private async attempt(key: string, body: ChargeRequest, timeoutMs: number, attempts: number, signal?: AbortSignal): Promise<ChargeResult | Unsettled> {
    signal?.throwIfAborted();
    const timeout = AbortSignal.timeout(Math.max(1, timeoutMs));
    try {
      const { data, error, response } = await this.api.POST('/api/payments/charge', {
        params: { header: { 'Idempotency-Key': key } },
        body,
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
      if (data) return { charge: data, attempts, replayed: response.headers.get('idempotency-cached') === 'true' };
      if (!isRetryable(response.status)) throw new PaymentRejectedError(response.status, asProblem(error), key, attempts);
      return { status: response.status, retryAfterMs: parseRetryAfter(response.headers.get('retry-after')) };
    } catch (error) {
      if (error instanceof PaymentRejectedError) throw error;
      signal?.throwIfAborted();
      // No answer (connection refused or reset, the attempt's timeout): the charge may have run; the same key finds out.
      return { status: undefined, error };
    }
  }

  private remember(key: string, body: ChargeRequest): void {
    const canonical = canonicalJson(body);
    const sent = this.sentBodies.get(key);
    if (sent !== undefined && sent !== canonical) throw new IdempotencyKeyReusedError(key);
    this.sentBodies.delete(key);
    this.sentBodies.set(key, canonical);
    if (this.sentBodies.size > this.defaults.rememberedKeys) this.sentBodies.delete(this.sentBodies.keys().next().value!);
  }
}

/** JSON with object keys sorted: two bodies that differ only in key order are the same payment. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, field: unknown) =>
    field && typeof field === 'object' && !Array.isArray(field)
      ? Object.fromEntries(Object.entries(field as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : field,
  );
}

function asProblem(error: unknown): Problem | undefined {
  return error && typeof error === 'object' && typeof (error as Problem).code === 'string' ? (error as Problem) : undefined;
}

function wait(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    signal?.throwIfAborted();
    const abort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', abort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', abort, { once: true });
  });
}
