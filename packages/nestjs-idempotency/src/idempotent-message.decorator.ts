import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { IdempotentResult } from './idempotency.service.js';

export const IDEMPOTENT_MESSAGE = Symbol('IDEMPOTENCY:MESSAGE');

/** What `@IdempotentMessage()` gives a message handler marked `@Idempotent()`. */
export interface IdempotentMessageContext {
  /** The message's key: its `Idempotency-Key` header, else what `keyFrom` found. */
  readonly key: string;
  /** The owner of the key (`messages.getScope`); empty when there is one owner. */
  readonly scope: string;
  /** The message's pattern as the transport delivered it (an RMQ pattern, a NATS subject). */
  readonly pattern: string;
  /** `Class.method` of the handler: every handler of an event keeps its own record. */
  readonly handler: string;
  /** The record's id (SHA-256 of scope, pattern, handler and key), e.g. to derive a downstream key from. */
  readonly recordId: string;
  /** SHA-256 of the canonical payload (or of what `fingerprint` picks from it). */
  readonly fingerprint: string;
  /** Aborts when the lock could not be kept; undefined with `inTransaction` (the transaction is the lock). */
  readonly lockLost?: AbortSignal;
  /**
   * With `@Idempotent({ inTransaction: true })`: runs `operation` once for this message's record,
   * written in `options.transaction` (a `pg` client between your BEGIN and COMMIT, with the
   * PostgreSQL store), so the effect and its record commit together. A duplicate gets
   * `{ value, replayed: true }` without running it. Without `inTransaction` it throws: the layer
   * already holds the record's lock around the handler.
   */
  run<T>(operation: (lockLost: AbortSignal) => Promise<T>, options?: { transaction?: unknown }): Promise<IdempotentResult<T>>;
}

/** Holds the context on the transport's context object (RmqContext, NatsContext), which is the message's own. */
export interface WithIdempotentMessage {
  [IDEMPOTENT_MESSAGE]?: IdempotentMessageContext;
}

/** The running message's idempotency context, on `@EventPattern()` / `@MessagePattern()` handlers marked `@Idempotent()`. */
export const IdempotentMessage = createParamDecorator((_: unknown, context: ExecutionContext) => {
  const message = context.switchToRpc().getContext<WithIdempotentMessage | undefined>()?.[IDEMPOTENT_MESSAGE];
  if (!message) throw new Error('@IdempotentMessage() is only available on message handlers marked @Idempotent() and called with a key');
  return message;
});
