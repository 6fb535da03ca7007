/**
 * The bench's baseline, NOT a production entry point: the production build (dist/) with the
 * idempotency layer switched off, composed as the tests compose apps (`node --import tsx
 * bench/baseline.ts`, after `npm run build`). Same AppModule, setUpApp, adapter and options as
 * src/main.ts; only IdempotencyInterceptor is overridden, by BypassIdempotencyInterceptor.
 */
import 'reflect-metadata';
import { BadRequestException, type CallHandler, type ExecutionContext, Injectable, Logger, type NestInterceptor } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  fingerprintOf,
  IDEMPOTENCY_CONTEXT,
  IdempotencyInterceptor,
  type RequestWithIdempotency,
  toIdempotencyContext,
} from '@idempotent-payments/nestjs-idempotency';
import type { Observable } from 'rxjs';
import type { RequestWithPrincipal } from '../src/auth/principal.js';

/** A module of the COMPILED service, typed from its source: the baseline runs the code production runs, and shares its module instances with the app. */
const fromDist = async <Module>(path: string) => (await import(new URL(`../dist/${path}`, import.meta.url).href)) as Module;
const { AppModule } = await fromDist<typeof import('../src/app.module.js')>('app.module.js');
const { setUpApp } = await fromDist<typeof import('../src/app.setup.js')>('app.setup.js');
const { HTTP_APP_OPTIONS, httpAdapterFor } = await fromDist<typeof import('../src/http/http-app.js')>('http/http-app.js');
const { InvalidConfigError, loadAppConfig } = await fromDist<typeof import('../src/config/index.js')>('config/index.js');
const { principalOf } = await fromDist<typeof import('../src/auth/principal.js')>('auth/principal.js');

interface BenchRequest extends RequestWithIdempotency, RequestWithPrincipal {
  method: string;
  headers: Record<string, string | string[] | undefined>;
  body?: unknown;
  route?: { path: string };
  routeOptions?: { url: string };
}

/**
 * Puts on the request the IdempotencyContext the real interceptor would (same key, scope and
 * fingerprint, so the handler derives the same order id and does the same business work), then
 * runs the handler: no lock, no stored outcome, no replay.
 */
@Injectable()
class BypassIdempotencyInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<BenchRequest>();
    const key = request.headers['idempotency-key'];
    if (typeof key !== 'string') throw new BadRequestException('This route requires an Idempotency-Key header.');
    const route = request.routeOptions?.url ?? request.route!.path;
    request[IDEMPOTENCY_CONTEXT] = toIdempotencyContext({ principal: principalOf(request), method: request.method, route, key }, fingerprintOf(request.body));
    return next.handle();
  }
}

try {
  const config = loadAppConfig(process.env);
  const moduleRef = await Test.createTestingModule({ imports: [await AppModule.forRoot(config)] })
    .overrideInterceptor(IdempotencyInterceptor)
    .useClass(BypassIdempotencyInterceptor)
    .compile();
  const app = moduleRef.createNestApplication(httpAdapterFor(config), HTTP_APP_OPTIONS);
  await setUpApp(app, config);
  await app.listen(config.PORT, '0.0.0.0');
  Logger.log(`Baseline (idempotency bypassed) listening on port ${config.PORT}`, 'Bench');
} catch (error) {
  console.error(error instanceof InvalidConfigError ? error.message : error);
  process.exit(1);
}
