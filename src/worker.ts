import 'reflect-metadata';
import { Logger as NestLogger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { HTTP_APP_OPTIONS, httpAdapterFor, initHttpApp } from './http/http-app.js';
import { InvalidConfigError, loadAppConfig } from './config/index.js';
import { startEventConsumers } from './events/event-consumers.js';
import { WorkerModule } from './worker.module.js';

/**
 * `npm run worker`: the payment-events consumer as its own process. Run the service with
 * EVENTS_WORKER=false next to it (or not: several consumers share the group's work). Its HTTP port
 * (WORKER_PORT) serves only /health, /health/ready and /metrics, for probes and Prometheus.
 */
async function bootstrap(): Promise<void> {
  const config = loadAppConfig(process.env);
  const app = await NestFactory.create(WorkerModule.forRoot(config), httpAdapterFor(config), HTTP_APP_OPTIONS);
  // Shutdown hooks included: on SIGTERM/SIGINT the worker finishes the batch in hand, stops, then its connections are closed.
  await initHttpApp(app);
  await startEventConsumers(app, config);
  await app.listen(config.WORKER_PORT, '0.0.0.0');
  NestLogger.log(`Events worker running, /health and /metrics on port ${config.WORKER_PORT} (${config.NODE_ENV})`, 'Bootstrap');
}

bootstrap().catch((error: unknown) => {
  console.error(error instanceof InvalidConfigError ? error.message : error);
  process.exit(1);
});
