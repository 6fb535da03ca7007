import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';
import { setGlobalPrefix } from './app.setup.js';
import { loadAppConfig } from './config/index.js';
import { createOpenApiDocument, renderOpenApiJson } from './openapi.js';

/**
 * `node dist/openapi-document.js` prints the OpenAPI document (`npm run openapi` writes it to
 * openapi.json). Built like the service, since tsx cannot emit the decorator metadata Nest's
 * injector reads; preview mode reads the routes without creating any provider, so nothing connects.
 */
const app = await NestFactory.create(await AppModule.forRoot(loadAppConfig({ NODE_ENV: 'development' })), { preview: true, logger: ['error'] });
setGlobalPrefix(app);
process.stdout.write(renderOpenApiJson(createOpenApiDocument(app)));
await app.close();
