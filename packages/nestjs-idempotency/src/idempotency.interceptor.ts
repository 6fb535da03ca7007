import { CallHandler, ExecutionContext, Inject, Injectable, NestInterceptor } from '@nestjs/common';
import { HttpAdapterHost, Reflector } from '@nestjs/core';
import type { ServerResponse } from 'node:http';
import { isUtf8 } from 'node:buffer';
import { Observable, type Subscription } from 'rxjs';
import { fingerprintOf } from './fingerprint.js';
import { parseIdempotencyKey } from './idempotency-key.js';
import type { FingerprintOf, ResolvedIdempotencyOptions } from './idempotency-options.interface.js';
import { RequestIdempotencyContext } from './idempotency-scope.js';
import { IdempotencyService, type IdempotencyAttempt } from './idempotency.service.js';
import { IDEMPOTENCY_CACHED_HEADER, IDEMPOTENCY_KEY_HEADER, IDEMPOTENCY_OPTIONS, IDEMPOTENT_METADATA } from './idempotency.constants.js';
import type { IdempotentRouteOptions } from './idempotency.decorator.js';
import { IdempotencyError, IdempotencyRequestError, IdempotencyStoreUnavailableError, IdempotentResponse } from './idempotency.exceptions.js';
import { isMessageHandler, MessageIdempotency, messageSettingsOf, type MessageSettings } from './idempotent-message.js';
import { IDEMPOTENCY_CONTEXT, type RequestWithIdempotency } from './idempotent-request.decorator.js';
import { holdResponse, type CapturedResponse, type ReplacementResponse } from './response-capture.js';
import type { RetentionPolicy } from './retention.js';
import type { StoredResponse } from './storage/idempotency-store.interface.js';

/** What one route does, resolved once from the method's, the controller's and the module's options. */
interface RouteSettings {
  required: boolean;
  policy: RetentionPolicy;
  fingerprint?: FingerprintOf;
  /** An `@EventPattern()` / `@MessagePattern()` handler's settings; undefined on HTTP routes. */
  message?: MessageSettings;
}

/** What both adapters' requests have: Express's and Fastify's alike. */
interface HttpRequest extends RequestWithIdempotency {
  method: string;
  headers: Record<string, string | string[] | undefined>;
  rawHeaders?: string[];
  body?: unknown;
  /** Express: the matched route. */
  route?: { path?: string };
  /** Fastify: the matched route; `raw` is Node's request. */
  routeOptions?: { url?: string };
  raw?: { rawHeaders: string[] };
}

const NOT_IDEMPOTENT = null;
/** A controller-level `@Idempotent()` leaves these methods alone: they change nothing to repeat. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** Headers of a response that describe its body: not carried over to a 503 sent in its place. */
const BODY_HEADERS = ['content-type', 'content-length', 'content-encoding', 'content-disposition', 'etag', 'last-modified', 'set-cookie'];

/**
 * Runs an `@Idempotent()` route once per (scope, method, route, key) through IdempotencyService's
 * lifecycle. It stores the response as it leaves the app: once the lock is held, it holds back
 * what the app writes on the Node response (after the app's interceptors, serializer and
 * exception filters did their work), stores it, and only then lets it go out. Replays and the
 * layer's own answers are thrown as IdempotentResponse to the filter `@Idempotent()` binds, so
 * no interceptor of the app wraps them a second time. Fails closed: when the store cannot be
 * reached in time the handler does not run.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  private readonly routes = new WeakMap<Function, RouteSettings | typeof NOT_IDEMPOTENT>();
  /** Content-Type and the replayed headers: what is stored of a response's headers. */
  private readonly storedHeaders: string[];
  /** 409 REQUEST_IN_PROGRESS, the same for every duplicate: built once. */
  private readonly inProgress: IdempotentResponse;
  /** The message handlers' side: nothing of it runs for HTTP requests. */
  private readonly messages: MessageIdempotency;

  constructor(
    private readonly idempotency: IdempotencyService,
    private readonly reflector: Reflector,
    private readonly adapterHost: HttpAdapterHost,
    @Inject(IDEMPOTENCY_OPTIONS) private readonly options: ResolvedIdempotencyOptions,
  ) {
    this.storedHeaders = ['content-type', ...options.replayedHeaders.filter((name) => name !== 'content-type')];
    this.inProgress = IdempotentResponse.of(idempotency.conflict);
    this.messages = new MessageIdempotency(idempotency, options);
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const route = this.routeSettings(context);
    if (!route) return next.handle();
    if (route.message !== undefined && context.getType() === 'rpc') return this.messages.handle(context, next, route.message);
    const http = context.switchToHttp();
    const request = http.getRequest<HttpRequest>();
    if (SAFE_METHODS.has(request.method)) return next.handle();
    // Idempotency-Cached: false is already on the response: the module's middleware puts it there.
    const response = http.getResponse<object>();
    let idempotency: RequestIdempotencyContext;
    try {
      const key = parseIdempotencyKey(keyOccurrences(request));
      if (key === undefined) {
        if (!route.required) return next.handle();
        throw new IdempotencyRequestError('IDEMPOTENCY_KEY_MISSING', `This route requires an ${IDEMPOTENCY_KEY_HEADER} header.`);
      }
      const scope = { principal: this.options.getScope(context), method: request.method, route: routeOf(request), key };
      idempotency = new RequestIdempotencyContext(scope, fingerprintOf(route.fingerprint ? route.fingerprint(request.body, context) : request.body));
    } catch (error) {
      throw this.answerOf(error, response);
    }
    request[IDEMPOTENCY_CONTEXT] = idempotency;

    return new Observable<unknown>((subscriber) => {
      let handling: Subscription | undefined;
      /** Runs when the handler is done, or when NestJS stops listening (the client went away). */
      let handled: (() => void) | undefined;
      this.idempotency
        .start(idempotency, context)
        .then(
          (started) => {
            if (started.state === 'replay') return subscriber.error(replayOf(started.response));
            const { attempt } = started;
            // Nobody waits for this request any more: nothing will run or be sent, so the key is freed.
            if (subscriber.closed) return void this.abandon(attempt, route, context);
            idempotency.lock = attempt.lease;
            const raw = rawResponseOf(response);
            let handlerError: unknown;
            const held = holdResponse(raw, (captured) => this.store(captured, handlerError, attempt, route, context));
            handled = () => {
              // The client left: NestJS writes nothing for a handler's Observable then, so the key is freed.
              if (raw.destroyed) setImmediate(() => held.ended || void this.abandon(attempt, route, context));
            };
            handling = next.handle().subscribe({
              next: (value) => subscriber.next(value),
              error: (error: unknown) => {
                handlerError = error;
                subscriber.error(error);
              },
              complete: () => subscriber.complete(),
            });
          },
          (error: unknown) => subscriber.error(this.answerOf(error, response)),
        )
        // Whatever fails on the way to the handler reaches NestJS's exception handling, not the process.
        .catch((error: unknown) => subscriber.error(error));
      return () => {
        handling?.unsubscribe();
        handled?.();
      };
    });
  }

  /** Stores what the app sent; a success the store did not take goes out as 503 instead (not stored, the retry runs it). */
  private async store(
    captured: CapturedResponse,
    error: unknown,
    attempt: IdempotencyAttempt,
    route: RouteSettings,
    context: ExecutionContext,
  ): Promise<ReplacementResponse | undefined> {
    const headers: Record<string, string> = {};
    for (const name of this.storedHeaders) {
      const value = captured.headers[name];
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : String(value);
    }
    const { body } = captured;
    const binary = typeof body !== 'string' && !isUtf8(body);
    const text = typeof body === 'string' ? body : body.toString(binary ? 'base64' : 'utf8');
    try {
      await this.idempotency.finish(attempt, { status: captured.status, headers, body: text, binary, error }, route.policy, context);
      return undefined;
    } catch (failure) {
      const problem = IdempotentResponse.of(
        failure instanceof IdempotencyError ? failure : new IdempotencyStoreUnavailableError(failure, this.options.retryAfterSeconds),
      ).wire;
      return {
        ...problem,
        headers: { ...problem.headers, [IDEMPOTENCY_CACHED_HEADER.toLowerCase()]: 'false' },
        drop: [...BODY_HEADERS, ...this.options.replayedHeaders],
      };
    }
  }

  /** Frees the key of an attempt that will send nothing. */
  private async abandon(attempt: IdempotencyAttempt, route: RouteSettings, context: ExecutionContext): Promise<void> {
    await this.idempotency.finish(attempt, undefined, route.policy, context).catch(() => undefined);
  }

  /** The layer's answer: sent by the route's filter, or, with `errorResponses: 'exception-filters'`, thrown to the app's. */
  private answerOf(error: unknown, response: object): unknown {
    if (!(error instanceof IdempotencyError)) return error;
    if (this.options.errorResponses === 'problem') return error === this.idempotency.conflict ? this.inProgress : IdempotentResponse.of(error);
    for (const name in error.headers) this.adapterHost.httpAdapter.setHeader(response, name, error.headers[name]!);
    return error;
  }

  private routeSettings(context: ExecutionContext): RouteSettings | typeof NOT_IDEMPOTENT {
    const handler = context.getHandler();
    let settings = this.routes.get(handler);
    if (settings === undefined) {
      const forClass = this.reflector.get<IdempotentRouteOptions | undefined>(IDEMPOTENT_METADATA, context.getClass());
      const forMethod = this.reflector.get<IdempotentRouteOptions | undefined>(IDEMPOTENT_METADATA, handler);
      settings = NOT_IDEMPOTENT;
      if (forClass || forMethod) {
        const options = { ...this.options, ...forClass, ...forMethod };
        settings = {
          required: options.required ?? true,
          policy: { resultTtlMs: options.resultTtlMs, errorTtlMs: options.errorTtlMs, storeIf: options.storeIf },
          fingerprint: options.fingerprint,
        };
        if (isMessageHandler(handler))
          // The module's waitTimeoutMs is HTTP's (0: answer 409 at once); a message's default is to wait for the first copy.
          settings.message = messageSettingsOf(handler, this.options, {
            ...this.options,
            waitTimeoutMs: undefined,
            ...this.options.messages,
            ...forClass,
            ...forMethod,
          });
      }
      this.routes.set(handler, settings);
    }
    return settings;
  }
}

function replayOf(stored: StoredResponse): IdempotentResponse {
  return new IdempotentResponse(stored, true, stored.binary);
}

/** Node's response: Express's response is one, Fastify's reply holds it as `raw`. */
function rawResponseOf(response: object): ServerResponse {
  return (response as { raw?: ServerResponse }).raw ?? (response as ServerResponse);
}

/** The route pattern the request matched, as the adapter names it (global prefix included). */
function routeOf(request: HttpRequest): string {
  const pattern = request.routeOptions?.url ?? request.route?.path;
  if (pattern === undefined) throw new Error('The idempotency layer needs the matched route pattern (Express or Fastify)');
  return pattern;
}

/**
 * Every occurrence of the key header as sent. Node joins repeated headers with ", "; a key has no
 * spaces, so only a value with a comma needs the raw headers to tell one key from two.
 */
function keyOccurrences(request: HttpRequest): string[] {
  const value = request.headers['idempotency-key'];
  if (value === undefined) return [];
  if (typeof value === 'string' && !value.includes(',')) return [value];
  const raw = request.rawHeaders ?? request.raw?.rawHeaders ?? [];
  const occurrences: string[] = [];
  for (let index = 0; index < raw.length; index += 2) {
    if (raw[index]!.toLowerCase() === 'idempotency-key') occurrences.push(raw[index + 1]!);
  }
  return occurrences;
}
