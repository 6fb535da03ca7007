import { beforeAll, describe, expect, it } from '@jest/globals';
import { Validator } from '@seriousme/openapi-schema-validator';
import { readFileSync } from 'node:fs';
import request from 'supertest';
import { CLIENT_SCHEMA, OPENAPI_JSON, renderClientSchema } from '../../scripts/lib/openapi-artifacts.js';
import { createOpenApiDocument, renderOpenApiJson } from '../../src/openapi.js';
import { useTestApp } from '../support/test-app.js';

describe('OpenAPI (@nestjs/swagger)', () => {
  const service = useTestApp();
  let document: Record<string, any>;

  beforeAll(async () => {
    document = (await request(service.baseUrl).get('/docs/openapi.json').expect(200)).body;
  });

  it('is a valid OpenAPI document', async () => {
    const result = await new Validator().validate(document);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('lists every route of the contract', () => {
    expect(Object.keys(document.paths).sort()).toEqual(
      [
        '/api/admin/cleanup',
        '/api/admin/payment-behavior',
        '/api/admin/provider/charges',
        '/api/customers/{id}/balance',
        '/api/orders',
        '/api/orders/{id}',
        '/api/orders/{id}/receipt',
        '/api/payments/charge',
        '/api/payments/{id}',
        '/api/webhooks/gateway',
        '/health',
        '/health/ready',
        '/metrics',
      ].sort(),
    );
  });

  it('declares the Idempotency-Key header, the replay headers and every problem of the charge route', () => {
    const charge = document.paths['/api/payments/charge'].post;
    expect(charge.parameters).toContainEqual(expect.objectContaining({ in: 'header', name: 'Idempotency-Key', required: true }));
    expect(Object.keys(charge.responses['201'].headers)).toEqual(expect.arrayContaining(['Idempotency-Cached', 'Idempotent-Replayed', 'Location']));
    expect(charge.responses['201'].content['application/json'].schema.$ref).toBe('#/components/schemas/Payment');
    for (const status of ['400', '401', '402', '409', '422', '429', '502', '503']) {
      expect(charge.responses[status].content['application/problem+json'].schema.$ref).toBe('#/components/schemas/ProblemDocumentSchema');
    }
    expect(charge.requestBody.content['application/json'].schema.$ref).toBe('#/components/schemas/ChargeRequestDto');
    expect(document.components.schemas.ChargeRequestDto.required).toEqual(expect.arrayContaining(['amount', 'currency', 'customerId']));
  });

  it('names every operation for clients, once', () => {
    const operationIds = Object.values(document.paths).flatMap((item) =>
      Object.values(item as Record<string, { operationId: string }>).map(({ operationId }) => operationId),
    );
    expect(operationIds.sort()).toEqual(
      [
        'charge',
        'getPayment',
        'listOrders',
        'getOrder',
        'getOrderReceipt',
        'getCustomerBalance',
        'getPaymentBehavior',
        'updatePaymentBehavior',
        'listGatewayCharges',
        'receiveGatewayWebhook',
        'getLiveness',
        'getReadiness',
        'getMetrics',
        'cleanUp',
      ].sort(),
    );
  });

  it('puts the cleanup behind the admin token, and no route answers 501 (every feature on every Redis topology)', () => {
    const cleanup = document.paths['/api/admin/cleanup'].post;
    expect(cleanup.security).toEqual([{ 'admin-token': [] }]);
    expect(cleanup.responses['200'].content['application/json'].schema.$ref).toBe('#/components/schemas/CleanupReport');
    const statuses = Object.values(document.paths).flatMap((item) =>
      Object.values(item as Record<string, { responses: Record<string, unknown> }>).flatMap(({ responses }) => Object.keys(responses)),
    );
    expect(statuses).not.toContain('501');
  });

  it(`is committed, current, as ${OPENAPI_JSON}, and so is the typed client's ${CLIENT_SCHEMA} (else: npm run openapi)`, async () => {
    const current = renderOpenApiJson(createOpenApiDocument(service.app));
    expect(readFileSync(OPENAPI_JSON, 'utf8')).toBe(current);
    expect(JSON.parse(current)).toEqual(document);
    expect(readFileSync(CLIENT_SCHEMA, 'utf8')).toBe(await renderClientSchema(current));
  });

  it('serves Swagger UI at /docs', async () => {
    const ui = await request(service.baseUrl).get('/docs').redirects(1).expect(200);
    expect(ui.text).toContain('swagger-ui');
  });
});
