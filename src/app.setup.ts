import { RequestMethod, ValidationPipe, type INestApplication } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import helmet from 'helmet';
import { GracefulShutdown } from './common/graceful-shutdown.js';
import { initHttpApp } from './common/http-app.js';
import { rejectPrototypeKeys } from './common/reject-prototype-keys.middleware.js';
import { VALIDATION_PIPE_OPTIONS } from './common/validation.js';
import { findIdempotentRoutes, markIdempotentRoutes } from './idempotency/index.js';
import { MetricsService } from './metrics/metrics.service.js';
import { setUpOpenApi } from './openapi.js';
import type { AppConfig } from './config/index.js';

const GLOBAL_PREFIX = 'api';

/** `/api` in front of every route but the probes and the scrape endpoint. */
export function setGlobalPrefix(app: INestApplication): void {
  app.setGlobalPrefix(GLOBAL_PREFIX, {
    exclude: [
      { path: 'health', method: RequestMethod.GET },
      { path: 'health/ready', method: RequestMethod.GET },
      { path: 'metrics', method: RequestMethod.GET },
    ],
  });
}

/**
 * Everything main.ts does to the app before it listens, shared with the tests so they exercise
 * the same stack: the service's middleware and settings, inside what every HTTP app of ours gets.
 */
export function setUpApp(app: NestExpressApplication, config: AppConfig): Promise<NestExpressApplication> {
  return initHttpApp(app, () => {
    app.use(markIdempotentRoutes(findIdempotentRoutes(app, GLOBAL_PREFIX)));
    app.use(app.get(GracefulShutdown).refuseWhileShuttingDown);
    app.use(app.get(MetricsService).recordRequests);
    app.use(helmet());
    setGlobalPrefix(app);
    // The app is created with rawBody: true (main.ts, tests): webhook signatures cover the exact bytes.
    app.useBodyParser('json', { limit: config.BODY_LIMIT });
    app.use(rejectPrototypeKeys);
    app.useGlobalPipes(new ValidationPipe(VALIDATION_PIPE_OPTIONS));
    if (config.API_DOCS) setUpOpenApi(app);
  });
}
