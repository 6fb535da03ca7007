/**
 * The benchmark's baseline service: the production build (dist/) with the idempotency layer
 * switched off, composed the way the tests compose apps, NOT a production entry point:
 *
 *   npm run build && PORT=3001 API_KEYS=… node --import tsx bench/baseline-main.ts
 *
 * Same AppModule, same setUpApp (helmet, body parser, validation, filters), same controller,
 * order, gateway and ledger work; only IdempotencyInterceptor is replaced, through
 * @nestjs/testing's overrideInterceptor, by BypassIdempotencyInterceptor. The bench checks that
 * the override took (a second request with the same key is not replayed) before measuring.
 */
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { IdempotencyInterceptor } from '@idempotent-payments/nestjs-idempotency';
import { Test } from '@nestjs/testing';
import { BypassIdempotencyInterceptor } from './bypass-idempotency.interceptor.js';
import { fromDist } from './lib/dist.js';

const { AppModule } = await fromDist<typeof import('../src/app.module.js')>('app.module.js');
const { setUpApp } = await fromDist<typeof import('../src/app.setup.js')>('app.setup.js');
const { HTTP_APP_OPTIONS, httpAdapterFor } = await fromDist<typeof import('../src/http/http-app.js')>('http/http-app.js');
const { InvalidConfigError, loadAppConfig } = await fromDist<typeof import('../src/config/index.js')>('config/index.js');

async function bootstrap(): Promise<void> {
  const config = loadAppConfig(process.env);
  const moduleRef = await Test.createTestingModule({ imports: [await AppModule.forRoot(config)] })
    .overrideInterceptor(IdempotencyInterceptor)
    .useClass(BypassIdempotencyInterceptor)
    .compile();
  // The adapter and options of src/main.ts's NestFactory.create.
  const app = moduleRef.createNestApplication(httpAdapterFor(config), HTTP_APP_OPTIONS);
  await setUpApp(app, config);
  await app.listen(config.PORT, '0.0.0.0');
  Logger.log(`Baseline (idempotency bypassed) listening on port ${config.PORT} (${config.NODE_ENV})`, 'Bench');
}

bootstrap().catch((error: unknown) => {
  console.error(error instanceof InvalidConfigError ? error.message : error);
  process.exit(1);
});
