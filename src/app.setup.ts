import { RequestMethod, ValidationPipe, type INestApplication } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import helmet from 'helmet';
import { initHttpApp } from './http/http-app.js';
import { VALIDATION_PIPE_OPTIONS } from './common/validation.js';
import type { AppConfig } from './config/index.js';
import { MetricsService } from './metrics/metrics.service.js';
import { playgroundScriptSources } from './playground/playground-csp.js';
import { setUpOpenApi } from './openapi.js';

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
 * Security headers are helmet's defaults on both (with the playground, its import map's hash in
 * script-src), from one helmet() made at start (on Fastify in an onRequest hook: @fastify/helmet
 * builds a new helmet per request). JSON body parsing is each
 * adapter's own (the body limit BODY_LIMIT on both; the app is created with rawBody: true, so
 * webhook signatures cover the exact bytes); the rest is the same code on both.
 */
export function setUpApp<App extends INestApplication>(app: App, config: AppConfig): Promise<App> {
  return initHttpApp(app, async () => {
    app.use(app.get(MetricsService).recordRequests);
    const securityHeaders = helmet(config.PLAYGROUND ? { contentSecurityPolicy: { directives: { scriptSrc: playgroundScriptSources() } } } : {});
    if (app.getHttpAdapter().getType() === 'fastify') {
      const fastify = app as unknown as NestFastifyApplication;
      fastify
        .getHttpAdapter()
        .getInstance()
        .addHook('onRequest', (request, reply, done) => securityHeaders(request.raw, reply.raw, (error) => done(error as Error | undefined)));
      fastify.useBodyParser('application/json', { bodyLimit: config.bodyLimitBytes });
    } else {
      const express = app as unknown as NestExpressApplication;
      express.use(securityHeaders);
      express.useBodyParser('json', { limit: config.BODY_LIMIT });
    }
    setGlobalPrefix(app);
    app.useGlobalPipes(new ValidationPipe(VALIDATION_PIPE_OPTIONS));
    if (config.API_DOCS) setUpOpenApi(app);
  });
}
