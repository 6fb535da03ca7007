import { CallHandler, ExecutionContext, Inject, Injectable, NestInterceptor, RequestMethod } from '@nestjs/common';
import { HTTP_CODE_METADATA, METHOD_METADATA } from '@nestjs/common/constants.js';
import { HttpAdapterHost, Reflector } from '@nestjs/core';
import { defer, lastValueFrom, Observable } from 'rxjs';
import { fingerprintOf } from './fingerprint.js';
import { parseIdempotencyKey } from './idempotency-key.js';
import type { ResolvedIdempotencyOptions } from './idempotency-options.interface.js';
import type { IdempotencyOutcome } from './idempotency-report.js';
import { toIdempotencyContext, type IdempotencyContext } from './idempotency-scope.js';
import { IdempotencyService } from './idempotency.service.js';
import {
  IDEMPOTENCY_CACHED_HEADER,
  IDEMPOTENCY_KEY_HEADER,
  IDEMPOTENCY_OPTIONS,
  IDEMPOTENT_METADATA,
  IDEMPOTENT_REPLAYED_HEADER,
} from './idempotency.constants.js';
import type { IdempotentRouteOptions } from './idempotency.decorator.js';
import {
  IdempotencyConflictError,
  IdempotencyError,
  IdempotencyKeyReusedError,
  IdempotencyRequestError,
  IdempotentResponse,
  JSON_CONTENT_TYPE,
  PROBLEM_CONTENT_TYPE,
} from './idempotency.exceptions.js';
import { IDEMPOTENCY_CONTEXT, type RequestWithIdempotency } from './idempotent-request.decorator.js';
import { retentionFor, ttlFor } from './retention.js';
import type { IdempotencyLease, StoredResponse } from './storage/idempotency-store.interface.js';

/** Never stored, whatever `replayedHeaders` lists: they belong to one response and one client. */
const NEVER_REPLAYED = new Set(['set-cookie', 'authorization', 'proxy-authorization', 'www-authenticate', 'proxy-authenticate']);

interface RouteSettings {
  options: IdempotentRouteOptions & { required: boolean };
  /** What NestJS answers a success with: `@HttpCode()`, else 201 for POST and 200 otherwise. */
  status: number;
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

/** What both adapters' responses have: Express's `getHeader` is Node's, Fastify's reply has its own. */
interface HttpResponse {
  getHeader(name: string): unknown;
}

const NO_ROUTE = null;

/**
 * Runs an `@Idempotent()` route once per (scope, method, route, key): lock, re-check, run, store
 * the outcome, release; every retry gets the stored outcome byte for byte. Fails closed: when the
 * store cannot be reached the handler does not run.
 *
 * A first response is sent from the same stored text as its replays. An answer with the route's
 * own status goes out as the handler's value does (through NestJS, on any adapter); any other
 * (a replayed decline, the layer's problems) is thrown as an IdempotentResponse for the filter
 * that `@Idempotent()` binds.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  private readonly routes = new WeakMap<Function, RouteSettings | typeof NO_ROUTE>();
  /** 409 REQUEST_IN_PROGRESS, the same for every duplicate: built once. */
  private readonly inProgress: IdempotentResponse;
  private readonly replayedHeaders: string[];

  constructor(
    protected readonly idempotency: IdempotencyService,
    protected readonly reflector: Reflector,
    protected readonly adapterHost: HttpAdapterHost,
    @Inject(IDEMPOTENCY_OPTIONS) protected readonly options: ResolvedIdempotencyOptions,
  ) {
    this.inProgress = IdempotentResponse.of(new IdempotencyConflictError(options.retryAfterSeconds));
    this.replayedHeaders = options.replayedHeaders.map((name) => name.toLowerCase()).filter((name) => !NEVER_REPLAYED.has(name));
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const route = this.routeSettings(context);
    if (!route) return next.handle();
    const request = context.switchToHttp().getRequest<HttpRequest>();
    this.setHeader(context, IDEMPOTENCY_CACHED_HEADER, 'false');
    let idempotency: IdempotencyContext;
    try {
      const key = parseIdempotencyKey(keyOccurrences(request));
      if (key === undefined) {
        if (!route.options.required) return next.handle();
        throw new IdempotencyRequestError('IDEMPOTENCY_KEY_MISSING', `This route requires an ${IDEMPOTENCY_KEY_HEADER} header.`);
      }
      const scope = { principal: this.getScope(context), method: request.method, route: this.routeOf(request), key };
      idempotency = toIdempotencyContext(scope, fingerprintOf(request.body));
    } catch (error) {
      throw error instanceof IdempotencyError ? IdempotentResponse.of(error) : error;
    }
    request[IDEMPOTENCY_CONTEXT] = idempotency;
    return defer(() => this.respond(idempotency, route, context, next));
  }

  /** Who owns the key; by default the `getScope` option. */
  protected getScope(context: ExecutionContext): string {
    return this.options.getScope(context);
  }

  /** The route pattern the request matched, as the adapter names it (global prefix included). */
  protected routeOf(request: HttpRequest): string {
    const pattern = request.routeOptions?.url ?? request.route?.path;
    if (pattern === undefined) throw new Error('The idempotency layer needs the matched route pattern (Express or Fastify)');
    return pattern;
  }

  private async respond(idempotency: IdempotencyContext, route: RouteSettings, context: ExecutionContext, next: CallHandler): Promise<string> {
    const waitStarted = performance.now();
    const begun = await this.idempotency.begin(idempotency.recordId).catch((error: unknown) => {
      this.report(context, 'store_unavailable', waitStarted);
      throw this.answerOf(error);
    });
    const lockWaitMs = performance.now() - waitStarted;
    if (begun.state === 'in_progress') {
      this.report(context, 'conflict', waitStarted);
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- an answer for the route's filter, not an error: no stack to capture
      throw this.inProgress;
    }
    if (begun.state === 'stored') {
      if (begun.stored.fingerprint !== idempotency.fingerprint) {
        this.report(context, 'mismatch', waitStarted);
        // eslint-disable-next-line @typescript-eslint/only-throw-error -- an answer for the route's filter, as above
        throw IdempotentResponse.of(new IdempotencyKeyReusedError());
      }
      this.report(context, 'replay', waitStarted);
      this.setHeader(context, IDEMPOTENCY_CACHED_HEADER, 'true');
      this.setHeader(context, IDEMPOTENT_REPLAYED_HEADER, 'true');
      return this.send(begun.stored, route, context);
    }

    const heldSince = performance.now();
    idempotency.lockLost = begun.lease.lost;
    const outcome = await this.execute(idempotency.fingerprint, begun.lease, context, next, route);
    const ttlMs = ttlFor(outcome.status, {
      resultTtlMs: route.options.resultTtlMs ?? this.options.resultTtlMs,
      errorTtlMs: route.options.errorTtlMs ?? this.options.errorTtlMs,
    });
    if (ttlMs === undefined) {
      await this.idempotency.abandon(begun.lease);
    } else {
      await this.idempotency.complete(begun.lease, outcome, ttlMs).catch((error: unknown) => {
        this.report(context, 'store_unavailable', waitStarted);
        throw this.answerOf(error);
      });
    }
    this.options.onOutcome?.({ outcome: 'fresh', lockWaitMs, lockHoldMs: performance.now() - heldSince }, context);
    return this.send(outcome, route, context);
  }

  /**
   * Runs the handler and captures its answer in wire form. An error whose answer is not stored
   * (validation, auth: nothing ran) releases the key and goes on to the app's filters as it is.
   */
  private async execute(
    fingerprint: string,
    lease: IdempotencyLease,
    context: ExecutionContext,
    next: CallHandler,
    route: RouteSettings,
  ): Promise<StoredResponse> {
    try {
      const value = await lastValueFrom(next.handle(), { defaultValue: undefined });
      const headers = this.headersToReplay(context.switchToHttp().getResponse<HttpResponse>());
      if (value === undefined) return { status: route.status, headers, body: '', fingerprint, storedAt: new Date().toISOString() };
      headers['content-type'] = JSON_CONTENT_TYPE;
      return { status: route.status, headers, body: JSON.stringify(value), fingerprint, storedAt: new Date().toISOString() };
    } catch (error) {
      const { problem, headers = {} } = this.options.toProblem(error);
      if (retentionFor(problem.status) === 'none') {
        await this.idempotency.abandon(lease);
        throw error;
      }
      const stored: Record<string, string> = {};
      for (const name in headers) stored[name.toLowerCase()] = headers[name]!;
      stored['content-type'] = PROBLEM_CONTENT_TYPE;
      return { status: problem.status, headers: stored, body: JSON.stringify(problem), fingerprint, storedAt: new Date().toISOString() };
    }
  }

  /** The route's own status goes out through NestJS as a body; any other through the filter. */
  private send(stored: StoredResponse, route: RouteSettings, context: ExecutionContext): string {
    // eslint-disable-next-line @typescript-eslint/only-throw-error -- an answer for the route's filter, as above
    if (stored.status !== route.status) throw new IdempotentResponse(stored);
    for (const name in stored.headers) this.setHeader(context, name, stored.headers[name]!);
    return stored.body;
  }

  private headersToReplay(response: HttpResponse): Record<string, string> {
    const headers: Record<string, string> = {};
    for (const name of this.replayedHeaders) {
      const value = response.getHeader(name);
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : String(value as string | number);
    }
    return headers;
  }

  private answerOf(error: unknown): unknown {
    return error instanceof IdempotencyError ? IdempotentResponse.of(error) : error;
  }

  private report(context: ExecutionContext, outcome: IdempotencyOutcome, waitStarted: number): void {
    this.options.onOutcome?.({ outcome, lockWaitMs: performance.now() - waitStarted }, context);
  }

  private setHeader(context: ExecutionContext, name: string, value: string): void {
    this.adapterHost.httpAdapter.setHeader(context.switchToHttp().getResponse(), name, value);
  }

  private routeSettings(context: ExecutionContext): RouteSettings | typeof NO_ROUTE {
    const handler = context.getHandler();
    let settings = this.routes.get(handler);
    if (settings === undefined) {
      const options = this.reflector.getAllAndOverride<RouteSettings['options'] | undefined>(IDEMPOTENT_METADATA, [handler, context.getClass()]);
      const declared = this.reflector.get<number | undefined>(HTTP_CODE_METADATA, handler);
      const method = this.reflector.get<RequestMethod | undefined>(METHOD_METADATA, handler);
      settings = options ? { options, status: declared ?? (method === RequestMethod.POST ? 201 : 200) } : NO_ROUTE;
      this.routes.set(handler, settings);
    }
    return settings;
  }
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
