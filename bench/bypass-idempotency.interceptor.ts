import { BadRequestException, CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { fingerprintOf, IDEMPOTENCY_CONTEXT, toIdempotencyContext, type RequestWithIdempotency } from '@idempotent-payments/nestjs-idempotency';
import type { Observable } from 'rxjs';
import type { RequestWithPrincipal } from '../src/auth/principal.js';
import { fromDist } from './lib/dist.js';

// The compiled module, as the app the baseline composes runs it.
const { principalOf } = await fromDist<typeof import('../src/auth/principal.js')>('auth/principal.js');

interface BenchRequest extends RequestWithIdempotency, RequestWithPrincipal {
  method: string;
  headers: Record<string, string | string[] | undefined>;
  body?: unknown;
  route?: { path: string };
  routeOptions?: { url: string };
}

/**
 * The benchmark's baseline: the idempotency layer switched off. It puts on the request the
 * IdempotencyContext the real interceptor would (same key, scope and fingerprint, so the handler
 * derives the same order id and does the same business work), then runs the handler: no lock, no
 * stored outcome, no replay (its answers keep the Idempotency-Cached: false the layer's
 * middleware puts on the route). It exists only under bench/ and is wired in only by
 * bench/baseline-main.ts through @nestjs/testing's overrideInterceptor: production never sees it.
 */
@Injectable()
export class BypassIdempotencyInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<BenchRequest>();
    const key = request.headers['idempotency-key'];
    if (typeof key !== 'string') throw new BadRequestException('This route requires an Idempotency-Key header.');
    const route = request.routeOptions?.url ?? request.route!.path;
    request[IDEMPOTENCY_CONTEXT] = toIdempotencyContext({ principal: principalOf(request), method: request.method, route, key }, fingerprintOf(request.body));
    return next.handle();
  }
}
