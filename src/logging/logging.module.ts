import { Module, RequestMethod } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LoggerModule } from 'nestjs-pino';
import { REQUEST_ID_HEADER, requestIdOf } from '../http/request-id.js';
import { routeLabelOf } from '../http/route-label.js';
import { AppConfig } from '../config/index.js';
import { idempotencyReportOf } from '../idempotency/idempotency-reports.js';

const PINO_LEVELS = { fatal: 'fatal', error: 'error', warn: 'warn', log: 'info', debug: 'debug', verbose: 'trace' } as const;
/** The LOG_LEVELs that show pino-http's request lines (logged at info). */
const REQUEST_LINE_LEVELS = new Set<keyof typeof PINO_LEVELS>(['log', 'debug', 'verbose']);

/**
 * nestjs-pino: JSON lines, one per request (method, route, status, duration, request id,
 * idempotency outcome), pretty in development. Only chosen fields are logged, never headers or
 * paths, so API keys and the admin token cannot reach a log line.
 */
@Module({
  imports: [
    LoggerModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        // Probes every few seconds would drown the requests that matter.
        exclude: [
          { path: 'health', method: RequestMethod.GET },
          { path: 'health/ready', method: RequestMethod.GET },
        ],
        pinoHttp: {
          level: PINO_LEVELS[config.LOG_LEVEL],
          // Request lines are logged at info: above that level they would be built and dropped on every response.
          autoLogging: REQUEST_LINE_LEVELS.has(config.LOG_LEVEL),
          transport: config.NODE_ENV === 'development' ? { target: 'pino-pretty', options: { singleLine: true } } : undefined,
          // Fastify names requests itself (with the same requestIdOf, see http-app.ts): this runs on Express.
          genReqId: (request: IncomingMessage, response: ServerResponse) => {
            const id = requestIdOf(request);
            response.setHeader(REQUEST_ID_HEADER, id);
            return id;
          },
          serializers: {
            // The route pattern is logged (below), not the path: paths carry ids and whatever a
            // client mistakenly put there.
            req: (request: { id: string; method: string }) => ({ id: request.id, method: request.method }),
            res: (response: { statusCode: number }) => ({ status: response.statusCode }),
          },
          // Read once the response is finished, when the route and the idempotency outcome are known.
          customSuccessObject: (request: IncomingMessage, _response: ServerResponse, value: object) => {
            const report = idempotencyReportOf(request);
            return { ...value, route: routeLabelOf(request), ...(report ? { idempotency: report.outcome } : {}) };
          },
          customSuccessMessage: () => 'request completed',
          customErrorMessage: () => 'request failed',
        },
      }),
    }),
  ],
})
export class LoggingModule {}
