import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from './app.module.js';
import { setUpApp } from './app.setup.js';
import { InvalidConfigError, loadAppConfig } from './config/index.js';

async function bootstrap(): Promise<void> {
  const config = loadAppConfig(process.env);
  const app = await NestFactory.create<NestExpressApplication>(await AppModule.forRoot(config), {
    bodyParser: false,
    // Keeps each JSON body's bytes as req.rawBody: a webhook's signature covers them, not the parsed JSON.
    rawBody: true,
    // Held until the pino logger takes over in setUpApp, so start-up lines are JSON too.
    bufferLogs: true,
  });
  await setUpApp(app, config);
  await app.listen(config.PORT);
  Logger.log(`Listening on port ${config.PORT} (${config.NODE_ENV})`, 'Bootstrap');
}

bootstrap().catch((error: unknown) => {
  // A configuration error is the operator's to fix: say what is wrong, without a stack trace.
  console.error(error instanceof InvalidConfigError ? error.message : error);
  process.exit(1);
});
