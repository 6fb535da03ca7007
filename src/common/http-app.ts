import type { NestExpressApplication } from '@nestjs/platform-express';
import { Logger } from 'nestjs-pino';
import { notFoundFallback, ProblemDetailsFilter } from './problem-details.filter.js';
import { RouteLabelInterceptor } from './route-label.js';

/**
 * What every HTTP application of ours gets, the service and the standalone worker alike: JSON logs
 * (before anything else logs), `configure` for its own middleware and settings, problem documents
 * for every error, route labels for logs and metrics, shutdown hooks, then init and the 404
 * fallback, which must come after every route.
 */
export async function initHttpApp(app: NestExpressApplication, configure: () => void = () => undefined): Promise<NestExpressApplication> {
  app.useLogger(app.get(Logger));
  configure();
  app.useGlobalFilters(new ProblemDetailsFilter());
  app.useGlobalInterceptors(new RouteLabelInterceptor());
  app.enableShutdownHooks();
  await app.init();
  app.use(notFoundFallback);
  return app;
}
