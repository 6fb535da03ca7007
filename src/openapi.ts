import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { ADMIN_TOKEN_HEADER } from './auth/index.js';

/** Serves the OpenAPI document at /docs/openapi.json and Swagger UI at /docs. */
export function setUpOpenApi(app: INestApplication): void {
  const config = new DocumentBuilder()
    .setTitle('Idempotent payments')
    .setDescription(
      'Charges a payment gateway exactly once per Idempotency-Key. Every error is application/problem+json (RFC 9457) with a stable `code`.',
    )
    .setVersion('1')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'Merchant API key' })
    .addApiKey({ type: 'apiKey', in: 'header', name: ADMIN_TOKEN_HEADER, description: 'Operators only' }, 'admin-token')
    .build();
  const document = SwaggerModule.createDocument(app, config);
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/openapi.json' });
}
