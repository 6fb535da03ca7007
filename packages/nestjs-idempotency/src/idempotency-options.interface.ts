import type { ExecutionContext } from '@nestjs/common';
import type { IdempotencyReport } from './idempotency-report.js';
import type { EncryptionOptions } from './response-cipher.js';
import type { IdempotencyStore } from './storage/idempotency-store.interface.js';

/** What decides whether an outcome is stored; see `storeIf`. */
export type StoreIf = (status: number, error: unknown) => boolean;

/** What a retry must repeat: the part of the payload that is fingerprinted. Default: the whole body. */
export type FingerprintOf = (payload: unknown, context: ExecutionContext) => unknown;

/** Options a route may set with `@Idempotent()`; the class's and the module's fill in what it leaves out. */
export interface IdempotencyRouteDefaults {
  /** TTL of definitive outcomes (successes, declines). Default 24 h. */
  resultTtlMs?: number;
  /** TTL of transient failures (5xx): retries within it get the stored error. Default 30 s. */
  errorTtlMs?: number;
  /** Choose what is fingerprinted, e.g. `(body) => ({ amount: body.amount })`. Default: the whole body. */
  fingerprint?: FingerprintOf;
  /**
   * Whether an outcome is stored, given its status and the error the handler threw (if any);
   * replaces the built-in rule (everything but 400, 401, 403, 405, 408, 409, 413, 415, 422, 429
   * and 503). Stored 5xx keep the error TTL, anything else the result TTL.
   */
  storeIf?: StoreIf;
}

/**
 * Where a message handler's key comes from when the message has no `Idempotency-Key` header: a
 * dotted path into the payload (`'meta.eventId'`), or a function of the payload and the handler's
 * context (`context.switchToRpc().getContext()` is the transport's: RmqContext, NatsContext).
 * Strings and finite numbers are keys; anything else is no key.
 */
export type MessageKeySource = string | ((data: unknown, context: ExecutionContext) => unknown);

/**
 * Options of `@Idempotent()` on `@EventPattern()` / `@MessagePattern()` handlers (see the README's
 * "Message handlers"); the module's `messages` sets their defaults.
 */
export interface IdempotencyMessageDefaults {
  /** Where the key comes from when the message has no `Idempotency-Key` header. Default: nowhere (the header only). */
  keyFrom?: MessageKeySource;
  /**
   * Who settles RabbitMQ deliveries. `'auto'` (default): the server runs with Nest's default
   * `noAck: true` and the layer never acks. `'manual'`: the server runs with `noAck: false` and the
   * layer settles every delivery of an `@Idempotent()` handler, so the handler must not: it acks
   * once the outcome is stored (or the delivery was a duplicate), nacks with requeue what may work
   * later (the handler threw, the store did not answer, a concurrent duplicate outlived its wait),
   * and nacks without requeue what never will (no key, a key reused with another payload). Other
   * transports ignore it.
   */
  ack?: 'auto' | 'manual';
  /**
   * How long a delivery that arrives while the same message runs waits for its outcome (then it is
   * a duplicate, or it runs if the first failed). Default: the module's `lockTtlMs`.
   */
  waitTimeoutMs?: number;
  /**
   * The handler writes the record itself, in its own database transaction: the layer takes no lock,
   * and the handler calls `run(operation, { transaction })` on its `@IdempotentMessage()` context.
   * With the PostgreSQL store the effect and its record then commit together. Default false.
   */
  inTransaction?: boolean;
}

/** `IdempotencyModule.forRoot(options)`: every option is optional. */
export interface IdempotencyModuleOptions extends IdempotencyRouteDefaults {
  /**
   * Where records and locks live. Default: a MemoryIdempotencyStore (one process: tests and
   * development), refused under NODE_ENV=production unless it is given with `allowInProduction`.
   */
  store?: IdempotencyStore;
  /** Lock TTL; the holder extends it while running, so it only matters after a crash. Default 30 s. */
  lockTtlMs?: number;
  /** How long a running operation keeps extending its lock; past it, a hung handler frees its key after the lock TTL. Default: no limit. */
  maxLockHoldMs?: number;
  /** Deadline of every store call: past it the request gets 503 and nothing runs. Default 2 s. */
  storeTimeoutMs?: number;
  /** Wait mode: how long a concurrent duplicate waits for the outcome; 0 (default) answers 409 at once. */
  waitTimeoutMs?: number;
  /** Retry-After (seconds) sent with 409 REQUEST_IN_PROGRESS and 503 store unavailable. Default 1. */
  retryAfterSeconds?: number;
  /**
   * Response headers stored with an outcome and replayed, besides Content-Type. Default `location`,
   * `etag`, `link`. `set-cookie` and credentials are never stored, whatever this lists.
   */
  replayedHeaders?: string[];
  /**
   * Who owns a key: requests of different owners never share an outcome. Default: the
   * authenticated principal on the request (`request.user`, as Passport sets it: a string, or an
   * object's `id` or `sub`), else `anonymous`.
   */
  getScope?: (context: ExecutionContext) => string;
  /**
   * How the layer's own answers (400, 409, 422, 503) go out: `problem` (default) sends them as
   * application/problem+json from a filter bound to the route, the same in any app;
   * `exception-filters` throws them (IdempotencyError, an HttpException) to the app's own filters,
   * with Retry-After already set on the response.
   */
  errorResponses?: 'problem' | 'exception-filters';
  /** Encrypt stored headers and bodies (AES-256-GCM) with the first key; all keys decrypt. */
  encryption?: EncryptionOptions;
  /**
   * Called once per HTTP request or keyed message with what the layer did, for metrics and logs
   * (`context.getType()` is `'http'` or `'rpc'`).
   */
  onOutcome?: (report: IdempotencyReport, context: ExecutionContext) => void;
  /** Defaults of `@Idempotent()` on message handlers, and who owns their keys. */
  messages?: IdempotencyMessageDefaults & {
    /**
     * Who owns a message's key: messages of different owners never share an outcome (e.g. a
     * tenant header). Default: one owner. The module's `getScope` reads HTTP requests and does not
     * apply to messages.
     */
    getScope?: (context: ExecutionContext) => string;
  };
}

type Defaulted =
  'resultTtlMs' | 'errorTtlMs' | 'lockTtlMs' | 'maxLockHoldMs' | 'storeTimeoutMs' | 'waitTimeoutMs' | 'retryAfterSeconds' | 'getScope' | 'errorResponses';

export type ResolvedIdempotencyOptions = Required<Pick<IdempotencyModuleOptions, Defaulted>> &
  Omit<IdempotencyModuleOptions, Defaulted | 'store' | 'replayedHeaders'> & {
    store: IdempotencyStore;
    /** Lower-case, without the headers that are never stored. */
    replayedHeaders: string[];
  };
