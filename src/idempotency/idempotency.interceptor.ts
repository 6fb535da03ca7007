import { CallHandler, ExecutionContext, Inject, Injectable, NestInterceptor } from '@nestjs/common';
import { HTTP_CODE_METADATA } from '@nestjs/common/constants.js';
import { Reflector } from '@nestjs/core';
import type { Request, Response as ExpressResponse } from 'express';
import { setTimeout as sleep } from 'node:timers/promises';
import { defer, lastValueFrom, map, Observable } from 'rxjs';
import { principalOf, type RequestWithPrincipal } from '../common/principal.js';
import { PROBLEM_CONTENT_TYPE, ProblemException, toProblem } from '../common/problem.js';
import { handlerTakesResponse, headerOccurrences } from '../common/route-introspection.js';
import { storeUnavailable } from '../common/store-unavailable.js';
import { fingerprintOf } from './fingerprint.js';
import { parseIdempotencyKey } from './idempotency-key.js';
import type { IdempotencyModuleOptions } from './idempotency-module-options.interface.js';
import { IdempotencyContext, toIdempotencyContext } from './idempotency-scope.js';
import {
  IDEMPOTENCY_STORE,
  IdempotencyStoreUnavailableError,
  type BeginResult,
  type IdempotencyStore,
  type StoredResponse,
  type WireResponse,
} from './idempotency-store.interface.js';
import {
  IDEMPOTENCY_CACHED_HEADER,
  IDEMPOTENCY_KEY_HEADER,
  IDEMPOTENCY_MODULE_OPTIONS,
  IDEMPOTENT_METADATA,
  IDEMPOTENT_REPLAYED_HEADER,
} from './idempotency.constants.js';
import type { IdempotentRouteOptions } from './idempotent.decorator.js';
import { IDEMPOTENCY_CONTEXT, RequestWithIdempotency } from './idempotent-request.decorator.js';
import { reportIdempotency, type IdempotencyReport } from './idempotency-outcome.js';
import { ttlFor } from './retention.js';

/** Headers of a first response that its replays must carry too. */
const REPLAYED_HEADERS = ['location'];
const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/**
 * Runs an @Idempotent() route once per (principal, method, route, key): lock, re-check, run, store
 * the outcome, release; every retry gets the stored outcome byte for byte. Fails closed: when the
 * store cannot be reached the handler does not run.
 *
 * Both a first response and its replays are sent as the same stored wire form (written directly
 * for a handler that takes the response, else as a web Response), so they cannot drift apart. A
 * duplicate of a request still running gets a 409 at once (or waits, in wait mode).
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  /** 409 REQUEST_IN_PROGRESS, the same for every duplicate: built once, sent without throwing. */
  private readonly inProgress: WireResponse;

  constructor(
    private readonly reflector: Reflector,
    @Inject(IDEMPOTENCY_STORE) private readonly store: IdempotencyStore,
    @Inject(IDEMPOTENCY_MODULE_OPTIONS) private readonly options: IdempotencyModuleOptions,
  ) {
    const { problem } = toProblem(new ProblemException(409, 'REQUEST_IN_PROGRESS', 'A request with this Idempotency-Key is still in progress; retry later.'));
    this.inProgress = {
      status: 409,
      headers: { 'content-type': PROBLEM_CONTENT_TYPE, 'retry-after': String(options.retryAfterSeconds) },
      body: JSON.stringify(problem),
    };
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const route = this.reflector.getAllAndOverride<Required<Pick<IdempotentRouteOptions, 'required'>> & IdempotentRouteOptions>(
      IDEMPOTENT_METADATA,
      [context.getHandler(), context.getClass()],
    );
    if (!route) return next.handle();
    const request = context.switchToHttp().getRequest<Request & RequestWithIdempotency>();
    const response = context.switchToHttp().getResponse<ExpressResponse>();
    response.setHeader(IDEMPOTENCY_CACHED_HEADER, 'false');

    const key = parseIdempotencyKey(headerOccurrences(request, IDEMPOTENCY_KEY_HEADER));
    if (key === undefined) {
      if (!route.required) return next.handle();
      throw new ProblemException(400, 'IDEMPOTENCY_KEY_MISSING', `This route requires an ${IDEMPOTENCY_KEY_HEADER} header.`);
    }
    const idempotency = toIdempotencyContext({
      principal: this.getPrincipal(request),
      method: request.method,
      route: request.route?.path ?? request.path,
      key,
    }, fingerprintOf(request.body));
    request[IDEMPOTENCY_CONTEXT] = idempotency;
    const sendsItself = handlerTakesResponse(context);
    return defer(() => this.respond(idempotency, route, context, next, response)).pipe(
      map((stored) => (sendsItself ? sendStored(stored, response) : toWebResponse(stored))),
    );
  }

  /** Who the key belongs to; override to scope keys by something other than the authenticated principal. */
  protected getPrincipal(request: Request): string {
    return principalOf(request as RequestWithPrincipal);
  }

  private async respond(
    idempotency: IdempotencyContext,
    route: IdempotentRouteOptions,
    context: ExecutionContext,
    next: CallHandler,
    response: ExpressResponse,
  ): Promise<WireResponse> {
    const waitStarted = performance.now();
    let begun: BeginResult;
    try {
      begun = await this.beginOrWait(idempotency.recordId);
    } catch (error) {
      if (error instanceof IdempotencyStoreUnavailableError) {
        reportIdempotency(response, { outcome: 'store_unavailable', lockWaitMs: performance.now() - waitStarted });
      }
      throw this.storeProblem(error);
    }
    const lockWaitMs = performance.now() - waitStarted;
    if (begun.state === 'in_progress') {
      reportIdempotency(response, { outcome: 'conflict', lockWaitMs });
      return this.inProgress;
    }
    if (begun.state === 'stored') {
      const mismatch = begun.stored.fingerprint !== idempotency.fingerprint;
      reportIdempotency(response, { outcome: mismatch ? 'mismatch' : 'replay', lockWaitMs });
      return this.replay(begun.stored, idempotency.fingerprint, response);
    }

    const report: IdempotencyReport = { outcome: 'fresh', lockWaitMs };
    reportIdempotency(response, report);
    const heldSince = performance.now();
    idempotency.lockLost = begun.lease.lost;
    const outcome = await this.run(idempotency.fingerprint, context, next);
    const ttlMs = ttlFor(outcome.status, {
      resultTtlMs: route.resultTtlMs ?? this.options.resultTtlMs,
      errorTtlMs: route.errorTtlMs ?? this.options.errorTtlMs,
    });
    try {
      if (ttlMs === undefined) {
        await this.store.abandon(begun.lease);
        throw outcome.error;
      }
      // Stored before it is answered: a success the store did not take is reported as 503, and the
      // retry resumes the same order and gets the same charge (the gateway deduplicates).
      await this.store.complete(begun.lease, outcome.stored, ttlMs).catch((error: unknown) => {
        throw this.storeProblem(error);
      });
      return outcome.stored;
    } finally {
      report.lockHoldMs = performance.now() - heldSince;
    }
  }

  /** Runs the handler and captures what it answered, success or problem, in its wire form. */
  private async run(
    fingerprint: string,
    context: ExecutionContext,
    next: CallHandler,
  ): Promise<{ status: number; stored: StoredResponse; error?: unknown }> {
    const response = context.switchToHttp().getResponse<ExpressResponse>();
    const storedAt = () => new Date().toISOString();
    try {
      const body = await lastValueFrom(next.handle(), { defaultValue: undefined });
      const status = this.successStatus(context);
      const headers: Record<string, string> = { 'content-type': JSON_CONTENT_TYPE };
      for (const name of REPLAYED_HEADERS) {
        const value = response.getHeader(name);
        if (value !== undefined) headers[name] = String(value);
      }
      return { status, stored: { status, headers, body: JSON.stringify(body ?? null), fingerprint, storedAt: storedAt() } };
    } catch (error) {
      const { problem, headers } = toProblem(error);
      return {
        status: problem.status,
        error,
        stored: {
          status: problem.status,
          headers: { ...lowerCaseKeys(headers), 'content-type': PROBLEM_CONTENT_TYPE },
          body: JSON.stringify(problem),
          fingerprint,
          storedAt: storedAt(),
        },
      };
    }
  }

  private replay(stored: StoredResponse, fingerprint: string, response: ExpressResponse): StoredResponse {
    if (stored.fingerprint !== fingerprint) {
      throw new ProblemException(
        422,
        'IDEMPOTENCY_KEY_REUSED',
        `This ${IDEMPOTENCY_KEY_HEADER} was already used with a different request body; use a new key for a new request.`,
      );
    }
    response.setHeader(IDEMPOTENCY_CACHED_HEADER, 'true');
    response.setHeader(IDEMPOTENT_REPLAYED_HEADER, 'true');
    return stored;
  }

  /** In wait mode, a duplicate asks again until the first request stored its outcome or the bound passes. */
  private async beginOrWait(recordId: string): Promise<BeginResult> {
    let begun = await this.store.begin(recordId);
    const deadline = Date.now() + this.options.waitTimeoutMs;
    for (let delayMs = 20; begun.state === 'in_progress'; delayMs = Math.min(delayMs * 2, 200)) {
      const remainingMs = deadline - Date.now();
      if (remainingMs <= 0) break;
      await sleep(Math.min(delayMs, remainingMs));
      begun = await this.store.begin(recordId);
    }
    return begun;
  }

  /** The store's failures as the problem the contract names; anything else as it is. */
  private storeProblem(error: unknown): unknown {
    if (!(error instanceof IdempotencyStoreUnavailableError)) return error;
    return storeUnavailable('The idempotency store is unreachable; retry later with the same key.', {
      cause: error,
      retryAfterSeconds: this.options.retryAfterSeconds,
    });
  }

  private successStatus(context: ExecutionContext): number {
    const declared = this.reflector.get<number | undefined>(HTTP_CODE_METADATA, context.getHandler());
    return declared ?? (context.switchToHttp().getRequest<Request>().method === 'POST' ? 201 : 200);
  }
}

/**
 * Sends the stored wire form as it is. Only for handlers that take the response (`@Res()`), for
 * which NestJS sends nothing itself: it skips the streaming a web Response goes through.
 */
function sendStored(stored: WireResponse, response: ExpressResponse): undefined {
  response.writeHead(stored.status, { ...stored.headers, 'content-length': Buffer.byteLength(stored.body) });
  response.end(stored.body);
  return undefined;
}

/** For other handlers: a web Response, whose status and headers NestJS 12 sends as they are. */
function toWebResponse(stored: WireResponse): Response {
  const contentLength = String(Buffer.byteLength(stored.body));
  return new Response(stored.body, { status: stored.status, headers: { ...stored.headers, 'content-length': contentLength } });
}

function lowerCaseKeys(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
}
