import type { CallHandler, ExecutionContext } from '@nestjs/common';
import { defer, from, lastValueFrom, mergeMap, toArray, type Observable } from 'rxjs';
import { fingerprintOf } from './fingerprint.js';
import { parseIdempotencyKey } from './idempotency-key.js';
import type { FingerprintOf, IdempotencyMessageDefaults, MessageKeySource, ResolvedIdempotencyOptions } from './idempotency-options.interface.js';
import { recordIdOf } from './idempotency-scope.js';
import { IDEMPOTENCY_KEY_HEADER } from './idempotency.constants.js';
import { IdempotencyConflictError, IdempotencyError, IdempotencyRequestError, IdempotencyStoreUnavailableError } from './idempotency.exceptions.js';
import type { IdempotencyService, IdempotentCall, IdempotentResult } from './idempotency.service.js';
import { IDEMPOTENT_MESSAGE, type IdempotentMessageContext, type WithIdempotentMessage } from './idempotent-message.decorator.js';
import type { RetentionPolicy } from './retention.js';

/** @nestjs/microservices' metadata keys (strings of its public decorators): read without importing it. */
const PATTERN_METADATA = 'microservices:pattern';
const PATTERN_HANDLER_METADATA = 'microservices:handler_type';
const EVENT_HANDLER = 2;

/** What one message handler does, resolved once from the method's, the controller's and the module's options. */
export interface MessageSettings {
  /** An `@EventPattern()` handler: nobody waits for a reply, the delivery is settled instead. */
  event: boolean;
  required: boolean;
  keyFrom?: MessageKeySource;
  ack: 'auto' | 'manual';
  waitTimeoutMs: number;
  inTransaction: boolean;
  fingerprint?: FingerprintOf;
  policy: RetentionPolicy;
}

/** Whether a handler is a message handler of @nestjs/microservices (it has a pattern). */
export function isMessageHandler(handler: Function): boolean {
  return Reflect.getMetadata(PATTERN_METADATA, handler) !== undefined;
}

export function messageSettingsOf(
  handler: Function,
  options: ResolvedIdempotencyOptions,
  merged: IdempotencyMessageDefaults & { required?: boolean; fingerprint?: FingerprintOf; resultTtlMs: number; errorTtlMs: number },
): MessageSettings {
  const waitTimeoutMs = merged.waitTimeoutMs ?? options.lockTtlMs;
  if (!(waitTimeoutMs >= 0)) throw new Error(`IdempotencyModule: waitTimeoutMs of a message handler must be 0 or more milliseconds, got ${waitTimeoutMs}`);
  return {
    event: Reflect.getMetadata(PATTERN_HANDLER_METADATA, handler) === EVENT_HANDLER,
    required: merged.required ?? true,
    keyFrom: merged.keyFrom,
    ack: merged.ack ?? 'auto',
    waitTimeoutMs,
    inTransaction: merged.inTransaction ?? false,
    fingerprint: merged.fingerprint,
    // Only a handler that returned is stored: one that threw leaves the key free for the redelivery.
    policy: { resultTtlMs: merged.resultTtlMs, errorTtlMs: merged.errorTtlMs },
  };
}

type Microservices = typeof import('@nestjs/microservices');
let microservices: Promise<Microservices> | undefined;

/**
 * @nestjs/microservices, loaded the first time a message arrives: an optional peer, so an app
 * that only serves HTTP never loads it (and needs not install it).
 */
function loadMicroservices(): Promise<Microservices> {
  return (microservices ??= import('@nestjs/microservices'));
}

/** Acks or nacks a RabbitMQ delivery once; a no-op where the layer does not settle deliveries. */
interface Settlement {
  ack(): void;
  nack(requeue: boolean): void;
}

const UNSETTLED: Settlement = { ack() {}, nack() {} };

/** The transport contexts this reads, by shape: RmqContext and NatsContext. */
interface TransportContext extends WithIdempotentMessage {
  getMessage?(): { properties?: { headers?: Record<string, unknown> } } | undefined;
  getChannelRef?(): { ack(message: unknown): void; nack(message: unknown, allUpTo?: boolean, requeue?: boolean): void };
  getPattern?(): string;
  getSubject?(): string;
  getHeaders?(): { keys(): string[]; values(name: string): string[] } | undefined;
}

/**
 * `@Idempotent()` on `@EventPattern()` / `@MessagePattern()` handlers: one execution per
 * (scope, pattern, handler, key). The key is the message's `Idempotency-Key` header, else
 * `keyFrom`'s. The handler's values are stored once it completes, then replied (a duplicate gets
 * them back without running anything); a delivery that arrives while the same message runs waits
 * for its outcome. With `ack: 'manual'`, RabbitMQ deliveries are settled here (see
 * IdempotencyMessageDefaults.ack).
 */
export class MessageIdempotency {
  constructor(
    private readonly idempotency: IdempotencyService,
    private readonly options: ResolvedIdempotencyOptions,
  ) {}

  handle(context: ExecutionContext, next: CallHandler, settings: MessageSettings): Observable<unknown> {
    // Deferred: the delivery starts when Nest subscribes, so a refusal always has someone to reach.
    return defer(() => this.deliver(context, next, settings)).pipe(mergeMap((values) => from(values)));
  }

  private async deliver(context: ExecutionContext, next: CallHandler, settings: MessageSettings): Promise<unknown[]> {
    const rpc = context.switchToRpc();
    const transport = rpc.getContext<TransportContext>();
    // Joined before anything is awaited: the delivery is settled once every handler of it has answered.
    const settlement = settlementOf(transport, settings.ack);
    const { RpcException } = await loadMicroservices();
    /**
     * The layer's answer (an RpcException the caller or Nest's log sees), or the handler's own error,
     * with the delivery settled: a reply settles a request; an event that may work later is requeued.
     */
    const refuse = (error: unknown, handlerError = false): unknown => {
      const transient = handlerError || error instanceof IdempotencyConflictError || error instanceof IdempotencyStoreUnavailableError;
      if (settings.event) settlement.nack(transient);
      else settlement.ack();
      if (!(error instanceof IdempotencyError)) return error;
      const problem = error.toProblem();
      const retryAfter = error.headers['retry-after'];
      return new RpcException({
        status: 'error',
        statusCode: problem.status,
        code: problem.code,
        message: problem.detail,
        ...(retryAfter === undefined ? {} : { retryAfter: Number(retryAfter) }),
      });
    };

    let message: MessageContext;
    try {
      const data = rpc.getData<unknown>();
      const key = keyOf(transport, data, context, settings.keyFrom);
      if (key === undefined) {
        if (settings.required) throw missingKey(settings.keyFrom);
        return await this.plain(next, settlement, refuse);
      }
      const scope = this.options.messages?.getScope?.(context) ?? '';
      const fingerprint = fingerprintOf(settings.fingerprint ? settings.fingerprint(data, context) : data);
      message = new MessageContext(
        this.idempotency,
        context,
        settings,
        key,
        scope,
        patternOf(transport, context.getHandler()),
        handlerOf(context),
        fingerprint,
      );
    } catch (error) {
      throw refuse(error);
    }
    // The transport's context is the message's own object: the handler's @IdempotentMessage() reads it there.
    transport[IDEMPOTENT_MESSAGE] = message;
    if (settings.inTransaction) return this.plain(next, settlement, refuse);

    let started;
    try {
      started = await this.idempotency.start(message.call(), context);
    } catch (error) {
      throw refuse(error);
    }
    if (started.state === 'replay') {
      settlement.ack();
      return valuesOf(started.response.body);
    }
    const { attempt } = started;
    message.lock = attempt.lease;
    let values: unknown[];
    try {
      values = await lastValueFrom(next.handle().pipe(toArray()));
    } catch (error) {
      await this.idempotency.finish(attempt, undefined, settings.policy, context).catch(() => undefined);
      throw refuse(error, true);
    }
    try {
      await this.idempotency.finish(attempt, { status: 200, headers: {}, body: bodyOf(values) }, settings.policy, context);
    } catch (error) {
      // The handler's effect happened: this delivery is done, even though its record could not be stored.
      settlement.ack();
      throw refuse(error);
    }
    settlement.ack();
    return values;
  }

  /** The handler without a lock of the layer's: a message without a key (`required: false`), or one whose handler records itself. */
  private async plain(next: CallHandler, settlement: Settlement, refuse: (error: unknown, handlerError?: boolean) => unknown): Promise<unknown[]> {
    let values: unknown[];
    try {
      values = await lastValueFrom(next.handle().pipe(toArray()));
    } catch (error) {
      throw refuse(error, !(error instanceof IdempotencyError));
    }
    settlement.ack();
    return values;
  }
}

class MessageContext implements IdempotentMessageContext {
  readonly recordId: string;
  lock?: { readonly lost: AbortSignal };
  private ran = false;

  constructor(
    private readonly idempotency: IdempotencyService,
    private readonly context: ExecutionContext,
    private readonly settings: MessageSettings,
    readonly key: string,
    readonly scope: string,
    readonly pattern: string,
    readonly handler: string,
    readonly fingerprint: string,
  ) {
    this.recordId = recordIdOf(['message', scope, pattern, handler, key]);
  }

  get lockLost(): AbortSignal | undefined {
    return this.lock?.lost;
  }

  call(transaction?: unknown): IdempotentCall {
    return { recordId: this.recordId, fingerprint: this.fingerprint, transaction, waitTimeoutMs: this.settings.waitTimeoutMs };
  }

  run<T>(operation: (lockLost: AbortSignal) => Promise<T>, options: { transaction?: unknown } = {}): Promise<IdempotentResult<T>> {
    if (!this.settings.inTransaction) {
      throw new Error(`run() is for handlers marked @Idempotent({ inTransaction: true }); ${this.handler} already runs under the record's lock`);
    }
    if (this.ran) throw new Error(`run() was already called for this message in ${this.handler}`);
    this.ran = true;
    return this.idempotency.runCall(this.call(options.transaction), operation, this.settings.policy.resultTtlMs, this.context);
  }
}

/** Where a delivery's settlement lives: on the AMQP message, which every handler of the delivery shares. */
const SETTLEMENT = Symbol('IDEMPOTENCY:SETTLEMENT');

type Verdict = 'ack' | 'reject' | 'requeue';
/** When handlers disagree: any that may work later requeues the delivery (the others replay then), else any that never will rejects it. */
const WEIGHT: Record<Verdict, number> = { ack: 0, reject: 1, requeue: 2 };

/**
 * One RabbitMQ delivery, settled once for all its handlers: Nest runs every `@EventPattern()`
 * handler of a pattern on the same delivery, and a second ack of it would close the channel. Each
 * handler joins as it starts and reports its verdict; the delivery is settled when the last one
 * has reported and no other joined by the next turn of the event loop (the handlers of a delivery
 * start in one chain of promises).
 */
class DeliverySettlement {
  private pending = 0;
  private verdict: Verdict = 'ack';
  private settled = false;

  constructor(
    private readonly channel: ReturnType<NonNullable<TransportContext['getChannelRef']>>,
    private readonly delivery: unknown,
  ) {}

  join(): Settlement {
    this.pending++;
    let reported = false;
    const report = (verdict: Verdict) => {
      if (reported) return;
      reported = true;
      if (WEIGHT[verdict] > WEIGHT[this.verdict]) this.verdict = verdict;
      if (--this.pending === 0) setImmediate(() => this.settle());
    };
    return { ack: () => report('ack'), nack: (requeue) => report(requeue ? 'requeue' : 'reject') };
  }

  private settle(): void {
    if (this.pending > 0 || this.settled) return;
    this.settled = true;
    try {
      if (this.verdict === 'ack') this.channel.ack(this.delivery);
      else this.channel.nack(this.delivery, false, this.verdict === 'requeue');
    } catch {
      // The channel closed while the handlers ran (a shutdown, a lost connection): amqplib throws on a
      // closed channel, and the broker requeues every delivery that channel left unsettled, which a
      // redelivery then finds recorded. Nothing to settle, and nothing to crash the process for.
    }
  }
}

function settlementOf(transport: TransportContext, ack: MessageSettings['ack']): Settlement {
  if (ack !== 'manual' || typeof transport.getChannelRef !== 'function' || typeof transport.getMessage !== 'function') return UNSETTLED;
  const delivery = transport.getMessage() as { [SETTLEMENT]?: DeliverySettlement } | undefined;
  if (!delivery) return UNSETTLED;
  delivery[SETTLEMENT] ??= new DeliverySettlement(transport.getChannelRef(), delivery);
  return delivery[SETTLEMENT].join();
}

/** The header's key, else `keyFrom`'s; undefined when neither has one. Throws IdempotencyRequestError for a malformed key. */
function keyOf(transport: TransportContext, data: unknown, context: ExecutionContext, keyFrom: MessageKeySource | undefined): string | undefined {
  const occurrences = headerOccurrences(transport);
  if (occurrences.length > 0) return parseIdempotencyKey(occurrences);
  if (keyFrom === undefined) return undefined;
  const value = typeof keyFrom === 'function' ? keyFrom(data, context) : valueAt(data, keyFrom);
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number' && Number.isFinite(value)) return parseIdempotencyKey([String(value)]);
  if (typeof value !== 'string') throw new IdempotencyRequestError('IDEMPOTENCY_KEY_INVALID', `The message's key is a ${typeof value}, not a string.`);
  return parseIdempotencyKey([value]);
}

/** Every value of the message's `Idempotency-Key` header, its name compared case-insensitively: AMQP properties.headers, NATS headers. */
function headerOccurrences(transport: TransportContext): string[] {
  const occurrences: string[] = [];
  const amqp = transport.getMessage?.()?.properties?.headers;
  if (amqp) {
    for (const name in amqp) if (name.toLowerCase() === 'idempotency-key') occurrences.push(headerText(amqp[name]));
    return occurrences;
  }
  const nats = transport.getHeaders?.();
  if (nats) {
    for (const name of nats.keys()) if (name.toLowerCase() === 'idempotency-key') occurrences.push(...nats.values(name));
  }
  return occurrences;
}

function headerText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  throw new IdempotencyRequestError('IDEMPOTENCY_KEY_INVALID', `${IDEMPOTENCY_KEY_HEADER} is malformed: the header is not a string.`);
}

function valueAt(data: unknown, path: string): unknown {
  let value = data;
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

function missingKey(keyFrom: MessageKeySource | undefined): IdempotencyRequestError {
  const where = typeof keyFrom === 'string' ? ` or a key at ${keyFrom} in the payload` : keyFrom ? ' or a key that keyFrom finds' : '';
  return new IdempotencyRequestError('IDEMPOTENCY_KEY_MISSING', `This message handler requires an ${IDEMPOTENCY_KEY_HEADER} header${where}.`);
}

/** The pattern the transport delivered (RMQ: the packet's pattern, NATS: the subject), else the handler's own. */
function patternOf(transport: TransportContext, handler: Function): string {
  const delivered = transport.getPattern?.() ?? transport.getSubject?.();
  if (typeof delivered === 'string') return delivered;
  return JSON.stringify(Reflect.getMetadata(PATTERN_METADATA, handler));
}

function handlerOf(context: ExecutionContext): string {
  return `${context.getClass().name}.${context.getHandler().name}`;
}

/** The handler's values as stored: JSON; a lone undefined (an event handler's usual result) as nothing. */
function bodyOf(values: unknown[]): string {
  return values.length === 1 && values[0] === undefined ? '' : JSON.stringify(values);
}

function valuesOf(body: string): unknown[] {
  return body === '' ? [undefined] : (JSON.parse(body) as unknown[]);
}
