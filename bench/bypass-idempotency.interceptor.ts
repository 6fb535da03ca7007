import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { HTTP_CODE_METADATA } from '@nestjs/common/constants.js';
import type { Request, Response } from 'express';
import { map, type Observable } from 'rxjs';
import type { RequestWithPrincipal } from '../src/common/principal.js';
import { fromDist } from './lib/dist.js';

// The compiled modules, so the context lands under the same symbol the compiled handler reads.
const { principalOf } = await fromDist<typeof import('../src/common/principal.js')>('common/principal.js');
const { ProblemException } = await fromDist<typeof import('../src/common/problem.js')>('common/problem.js');
const { handlerTakesResponse, headerOccurrences } = await fromDist<typeof import('../src/common/route-introspection.js')>('common/route-introspection.js');
const { fingerprintOf } = await fromDist<typeof import('../src/idempotency/fingerprint.js')>('idempotency/fingerprint.js');
const { parseIdempotencyKey } = await fromDist<typeof import('../src/idempotency/idempotency-key.js')>('idempotency/idempotency-key.js');
const { toIdempotencyContext } = await fromDist<typeof import('../src/idempotency/idempotency-scope.js')>('idempotency/idempotency-scope.js');
const { IDEMPOTENCY_CONTEXT } = await fromDist<typeof import('../src/idempotency/idempotent-request.decorator.js')>(
  'idempotency/idempotent-request.decorator.js',
);

const KEY_HEADER = 'idempotency-key';
const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/**
 * The benchmark's baseline: the idempotency layer switched off. It does what the real interceptor
 * does before it touches Redis (parse the key, fingerprint the body, put the same
 * IdempotencyContext on the request, so the handler derives the same order id and does the same
 * business work), then runs the handler: no lock, no stored outcome, no replay (its answers keep
 * the Idempotency-Cached: false the first middleware puts on the route). It exists only under bench/ and is wired in only by
 * bench/baseline-main.ts through @nestjs/testing's overrideInterceptor: production never sees it.
 *
 * A handler that takes the response (`@Res()` without passthrough, as the charge route does since
 * the interceptor sends outcomes itself) leaves sending to the interceptor, so this one sends the
 * handler's result the plainest way (status, JSON, the headers the handler set); for any other
 * handler NestJS sends it.
 */
@Injectable()
export class BypassIdempotencyInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<Request & Record<symbol, unknown>>();
    const key = parseIdempotencyKey(headerOccurrences(request, KEY_HEADER));
    if (key === undefined) throw new ProblemException(400, 'IDEMPOTENCY_KEY_MISSING', 'This route requires an Idempotency-Key header.');
    request[IDEMPOTENCY_CONTEXT] = toIdempotencyContext(
      { principal: principalOf(request as RequestWithPrincipal), method: request.method, route: request.route?.path ?? request.path, key },
      fingerprintOf(request.body),
    );
    if (!handlerTakesResponse(context)) return next.handle();
    const response = context.switchToHttp().getResponse<Response>();
    const status = (Reflect.getMetadata(HTTP_CODE_METADATA, context.getHandler()) as number | undefined) ?? (request.method === 'POST' ? 201 : 200);
    return next.handle().pipe(
      map((body: unknown) => {
        const json = JSON.stringify(body ?? null);
        response.writeHead(status, { 'content-type': JSON_CONTENT_TYPE, 'content-length': Buffer.byteLength(json) });
        response.end(json);
        return undefined;
      }),
    );
  }
}

