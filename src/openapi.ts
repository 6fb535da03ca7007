import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { ADMIN_TOKEN_HEADER } from './auth/index.js';

/**
 * The OpenAPI document of the app's routes (global prefix applied first). Also written to
 * openapi.json by `npm run openapi`, for clients and the generated typed client.
 */
export function createOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Idempotent payments')
    .setDescription('Charges a payment gateway exactly once per Idempotency-Key. Every error is application/problem+json (RFC 9457) with a stable `code`.')
    .setVersion('1')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'Merchant API key' })
    .addApiKey({ type: 'apiKey', in: 'header', name: ADMIN_TOKEN_HEADER, description: 'Operators only' }, 'admin-token')
    .build();
  return SwaggerModule.createDocument(app, config);
}

/** openapi.json as committed: two-space JSON and a final newline, so diffs stay readable. */
export function renderOpenApiJson(document: OpenAPIObject): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}

/** Serves the OpenAPI document at /docs/openapi.json and Swagger UI at /docs. */
export function setUpOpenApi(app: INestApplication): void {
  SwaggerModule.setup('docs', app, createOpenApiDocument(app), { jsonDocumentUrl: 'docs/openapi.json' });
}
