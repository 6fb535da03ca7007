import 'reflect-metadata';
import { Logger as NestLogger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { InvalidConfigError, loadAppConfig } from './config/index.js';
import { WorkerModule } from './worker.module.js';

/**
 * `npm run worker`: the payment-events consumer as its own process, without HTTP. Run the service
 * with EVENTS_WORKER=false next to it (or not: several consumers share the group's work).
 */
async function bootstrap(): Promise<void> {
  const config = loadAppConfig(process.env);
  if (config.REDIS_CLUSTER_NODES.length > 0) {
    throw new InvalidConfigError('The events worker needs a standalone Redis (REDIS_URL); events are off on a Redis Cluster.');
  }
  const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(config), { bufferLogs: true });
  app.useLogger(app.get(Logger));
  // SIGTERM/SIGINT: the worker finishes the event in hand, stops reading, then Redis is closed.
  app.enableShutdownHooks();
  await app.init();
  NestLogger.log(`Events worker running (${config.NODE_ENV})`, 'Bootstrap');
}

bootstrap().catch((error: unknown) => {
  console.error(error instanceof InvalidConfigError ? error.message : error);
  process.exit(1);
});
