import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';
import { setUpApp } from './app.setup.js';
import { HTTP_APP_OPTIONS, httpAdapterFor } from './common/http-app.js';
import { InvalidConfigError, loadAppConfig } from './config/index.js';

async function bootstrap(): Promise<void> {
  const config = loadAppConfig(process.env);
  const app = await NestFactory.create(await AppModule.forRoot(config), httpAdapterFor(config), HTTP_APP_OPTIONS);
  await setUpApp(app, config);
  await app.listen(config.PORT, '0.0.0.0');
  Logger.log(`Listening on port ${config.PORT} (${config.NODE_ENV}, ${config.HTTP_ADAPTER})`, 'Bootstrap');
}

bootstrap().catch((error: unknown) => {
  // A configuration error is the operator's to fix: say what is wrong, without a stack trace.
  console.error(error instanceof InvalidConfigError ? error.message : error);
  process.exit(1);
});
