import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';
import { setUpApp } from './app.setup.js';
import { HTTP_APP_OPTIONS, httpAdapterFor } from './http/http-app.js';
import { InvalidConfigError, loadAppConfig, type AppConfig } from './config/index.js';
import { startEventConsumers } from './events/event-consumers.js';

async function bootstrap(): Promise<void> {
  const config = loadAppConfig(process.env);
  // Buffered like Nest's own start-up lines (bufferLogs), so the mode is the first line of the log.
  Logger.attachBuffer();
  if (config.NODE_ENV === 'production') Logger.log(productionNotice(), 'Bootstrap');
  else Logger.warn(developmentNotice(config), 'Bootstrap');
  const app = await NestFactory.create(await AppModule.forRoot(config), httpAdapterFor(config), HTTP_APP_OPTIONS);
  await setUpApp(app, config);
  if (config.EVENTS_WORKER) await startEventConsumers(app, config);
  await app.listen(config.PORT, '0.0.0.0');
  Logger.log(`Listening on port ${config.PORT} (${config.NODE_ENV}, ${config.HTTP_ADAPTER})`, 'Bootstrap');
}

function productionNotice(): string {
  return process.env.NODE_ENV ? 'NODE_ENV=production' : 'NODE_ENV is not set: running as in production';
}

/** What development gives up, so nobody mistakes a demo for a deployment. */
function developmentNotice(config: AppConfig): string {
  return (
    `NODE_ENV=${config.NODE_ENV}, not for deployment: without API_KEYS every caller is the merchant "anonymous", ` +
    'without ADMIN_TOKEN the admin routes are open, without WEBHOOK_SECRET webhooks are signed with a fixed development key, ' +
    'and the playground and Swagger UI are on'
  );
}

bootstrap().catch((error: unknown) => {
  // A configuration error is the operator's to fix: say what is wrong, without a stack trace.
  console.error(error instanceof InvalidConfigError ? error.message : error);
  process.exit(1);
});
