import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';
import { declareDeadLetterQueue, LEDGER_QUEUE, ledgerServerOptions } from './broker.js';
import { readConfig } from './config.js';
import { openPool } from './database.js';
import { PAYMENT_EVENTS_EXCHANGE } from './payment-event.js';

/**
 * A hybrid app: the RabbitMQ consumer and GET /ledger in one process. The consumer starts first,
 * so once /ledger answers, the queue is bound and being consumed.
 */
async function bootstrap(): Promise<void> {
  const config = readConfig();
  const logger = new Logger('LedgerExample');
  const pool = await openPool(config.databaseUrl, config.createDatabase);
  await declareDeadLetterQueue(config.brokerUrl);
  const app = await NestFactory.create(AppModule.register(pool));
  app.enableShutdownHooks();
  app.connectMicroservice(ledgerServerOptions(config.brokerUrl), { inheritAppConfig: true });
  await app.startAllMicroservices();
  await app.listen(config.port);
  logger.log(`consuming ${PAYMENT_EVENTS_EXCHANGE} → ${LEDGER_QUEUE}; the ledger at ${await app.getUrl()}/ledger`);
}

bootstrap().catch((error: unknown) => {
  new Logger('LedgerExample').error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});
