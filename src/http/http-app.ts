import { NotFoundException, type INestApplication, type NestApplicationOptions } from '@nestjs/common';
import { HttpAdapterHost, type AbstractHttpAdapter } from '@nestjs/core';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Logger } from 'nestjs-pino';
import type { AppConfig } from '../config/index.js';

import { ProblemDetailsFilter, sendProblem } from '../common/problem-details.filter.js';
import { PROBLEM_CONTENT_TYPE, toProblem } from '../common/problem.js';
import { REQUEST_ID_HEADER, requestIdOf } from './request-id.js';
import { RejectPrototypeKeysInterceptor } from '../common/reject-prototype-keys.interceptor.js';
import { RouteLabelInterceptor } from './route-label.js';

/**
 * The HTTP stack HTTP_ADAPTER names. With app.setUpApp's body parsing, the only code that knows
 * which one runs. Fastify's JSON parser keeps `__proto__` and `constructor` keys as Express's
 * does, so RejectPrototypeKeysInterceptor answers both the same problem.
 */
export function httpAdapterFor(config: AppConfig): AbstractHttpAdapter {
  if (config.HTTP_ADAPTER === 'express') return new ExpressAdapter();
  const fastify = new FastifyAdapter({
    bodyLimit: config.bodyLimitBytes,
    onProtoPoisoning: 'ignore',
    onConstructorPoisoning: 'ignore',
    genReqId: requestIdOf,
    // `//` and `/a//b` are the paths without the doubled slash (the static files' router would answer them in its own format).
    routerOptions: { ignoreDuplicateSlashes: true },
    // While closing, requests still reach the service's own refusal (503 SHUTTING_DOWN as a problem), not Fastify's plain 503.
    return503OnClosing: false,
    // Errors Fastify meets before routing (a malformed URL) are problems too.
    frameworkErrors: (error: Error, _request: FastifyRequest, reply: FastifyReply) => {
      const { problem, headers } = toProblem(error);
      void reply
        .code(problem.status)
        .headers({ ...headers, 'content-type': PROBLEM_CONTENT_TYPE })
        .send(JSON.stringify(problem));
    },
  });
  // Fastify's request id is the one pino-http logs; the response names it as on Express.
  fastify.getInstance().addHook('onRequest', (request, reply, done) => {
    reply.header(REQUEST_ID_HEADER, request.id);
    done();
  });
  return fastify;
}

/** NestFactory / createNestApplication options of every HTTP app of ours. */
export const HTTP_APP_OPTIONS: NestApplicationOptions = {
  // Registered by setUpApp, with the configured limit.
  bodyParser: false,
  // Keeps each JSON body's bytes as req.rawBody: a webhook's signature covers them, not the parsed JSON.
  rawBody: true,
  // Held until the pino logger takes over, so start-up lines are JSON too.
  bufferLogs: true,
};

/**
 * What every HTTP application of ours gets, the service and the standalone worker alike: JSON logs
 * (before anything else logs), `configure` for its own middleware and settings, problem documents
 * for every error, prototype keys refused, route labels for logs and metrics, shutdown hooks, init,
 * and on Express a 404 problem for paths outside the global prefix (Fastify's not-found handler
 * already answers every path through the filter).
 */
export async function initHttpApp<App extends INestApplication>(app: App, configure: () => void | Promise<void> = () => undefined): Promise<App> {
  app.useLogger(app.get(Logger));
  await configure();
  app.useGlobalFilters(new ProblemDetailsFilter(app.get(HttpAdapterHost)));
  app.useGlobalInterceptors(new RejectPrototypeKeysInterceptor(), new RouteLabelInterceptor());
  app.enableShutdownHooks();
  await app.init();
  if (app.getHttpAdapter().getType() === 'express') app.use(notFoundFallback);
  return app;
}

function notFoundFallback(request: IncomingMessage, response: ServerResponse): void {
  sendProblem(response, new NotFoundException(`Cannot ${request.method} ${request.url}`));
}
