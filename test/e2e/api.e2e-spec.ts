import { describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { charge, newKey, validCharge } from '../support/payments-client.js';
import { TEST_HTTP_ADAPTER, useTestApp } from '../support/test-app.js';
import { expectProblem } from '../support/problem.js';
import { waitFor } from '../support/wait-for.js';

/**
 * Fastify parses bodies after NestJS middleware, so its body errors carry the header the
 * idempotency module's middleware sets; Express's body parser runs before any NestJS middleware
 * (a difference docs/architecture.md names).
 */
const CACHED_ON_BODY_ERRORS = TEST_HTTP_ADAPTER === 'fastify' ? 'false' : undefined;

describe('the HTTP API around charges', () => {
  // No webhooks: they would add the gateway's status to orders at a moment the tests cannot know.
  const service = useTestApp({ BODY_LIMIT: '16kb', WEBHOOK_DELIVERY: 'false' });

  describe('errors are problems', () => {
    it('answers malformed JSON with 400 MALFORMED_JSON', async () => {
      const response = await request(service.baseUrl)
        .post('/api/payments/charge')
        .set('Idempotency-Key', newKey())
        .set('Content-Type', 'application/json')
        .send('{"amount": 19,');
      expectProblem(response, 400, 'MALFORMED_JSON');
      // Answered before the idempotency layer ran, still a response of an idempotent route.
      expect(response.headers['idempotency-cached']).toBe(CACHED_ON_BODY_ERRORS);
    });

    it('answers a body over the limit with 413 PAYLOAD_TOO_LARGE', async () => {
      const response = await charge(service.baseUrl, newKey(), validCharge({ description: 'x'.repeat(20_000) }));
      expectProblem(response, 413, 'PAYLOAD_TOO_LARGE');
      expect(response.headers['idempotency-cached']).toBe(CACHED_ON_BODY_ERRORS);
    });

    it('answers an unknown route with 404 NOT_FOUND', async () => {
      expectProblem(await request(service.baseUrl).get('/api/nothing-here'), 404, 'NOT_FOUND');
      const wrongMethod = await request(service.baseUrl).delete('/api/payments/charge');
      expectProblem(wrongMethod, 404, 'NOT_FOUND');
      // DELETE is not the idempotent route, although the path is.
      expect(wrongMethod.headers['idempotency-cached']).toBeUndefined();
    });

    it('lists every invalid field of a charge', async () => {
      const response = await charge(service.baseUrl, newKey(), {
        amount: 1.5,
        currency: 'XYZ',
        customerId: 'x'.repeat(65),
        description: 'd'.repeat(256),
        metadata: { n: 1 },
      });
      expectProblem(response, 400, 'VALIDATION_FAILED');
      const fields = new Set((response.body.errors as Array<{ field: string; message: string }>).map((error) => error.field));
      expect([...fields].sort()).toEqual(['amount', 'currency', 'customerId', 'description', 'metadata']);
    });

    it.each([
      ['amount 0', { amount: 0 }],
      ['amount above 99 999 999', { amount: 100_000_000 }],
      ['amount as a string', { amount: '1999' }],
      ['lower-case currency', { currency: 'eur' }],
      ['21 metadata entries', { metadata: Object.fromEntries(Array.from({ length: 21 }, (_, index) => [`k${index}`, 'v'])) }],
    ])('refuses %s', async (_case, change) => {
      expectProblem(await charge(service.baseUrl, newKey(), validCharge(change)), 400, 'VALIDATION_FAILED');
    });

    it('accepts the edges of the valid range', async () => {
      const response = await charge(
        service.baseUrl,
        newKey(),
        validCharge({
          amount: 99_999_999,
          currency: 'JPY',
          customerId: 'A-z_09',
          metadata: Object.fromEntries(Array.from({ length: 20 }, (_, index) => [`k${index}`, 'v'])),
        }),
      );
      expect(response.status).toBe(201);
    });
  });

  describe('payments and orders', () => {
    it('reads a charge back by id, and 404s an unknown one', async () => {
      const created = await charge(service.baseUrl, newKey()).expect(201);
      const read = await request(service.baseUrl).get(created.headers.location!).expect(200);
      expect(read.body).toEqual(created.body);
      expectProblem(await request(service.baseUrl).get('/api/payments/ch_unknown'), 404, 'PAYMENT_NOT_FOUND');
    });

    it('shows the order as PAID with its payment details', async () => {
      const key = newKey();
      const created = await charge(service.baseUrl, key, validCharge({ metadata: { cart: '42' } })).expect(201);
      const order = await request(service.baseUrl).get(`/api/orders/${created.body.orderId}`).expect(200);
      expect(order.body).toEqual({
        id: created.body.orderId,
        idempotencyKey: key,
        amount: 1999,
        currency: 'EUR',
        customerId: 'cus_123',
        description: 'Order #1',
        metadata: { cart: '42' },
        status: 'PAID',
        payment: { chargeId: created.body.id, status: 'succeeded', chargedAt: created.body.createdAt },
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
      });
      expectProblem(await request(service.baseUrl).get('/api/orders/ord_000000000000000000000000'), 404, 'ORDER_NOT_FOUND');
    });

    it('lists orders newest first, page by page with an opaque cursor', async () => {
      const created: string[] = [];
      for (let index = 0; index < 5; index++) {
        const charged = await charge(service.baseUrl, newKey('list')).expect(201);
        created.push(charged.body.orderId);
        // Creation times are in milliseconds: the next order is created in a later one, so "newest first" is one order.
        await waitFor('the clock has moved past the charge', () => Promise.resolve(Date.now() > Date.parse(charged.body.createdAt)));
      }
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await request(service.baseUrl)
          .get('/api/orders')
          .query({ limit: 2, ...(cursor ? { cursor } : {}) })
          .expect(200);
        expect(page.body.data.length).toBeLessThanOrEqual(2);
        seen.push(...page.body.data.map((order: { id: string }) => order.id));
        cursor = page.body.nextCursor ?? undefined;
      } while (cursor);
      const newestFive = created.reverse();
      expect(seen.slice(0, 5)).toEqual(newestFive);
      expect(new Set(seen).size).toBe(seen.length);
    });

    it('refuses a limit above 100 and a forged cursor', async () => {
      expectProblem(await request(service.baseUrl).get('/api/orders').query({ limit: 101 }), 400, 'VALIDATION_FAILED');
      expectProblem(await request(service.baseUrl).get('/api/orders').query({ cursor: 'bm90LWEtY3Vyc29y' }), 400, 'INVALID_CURSOR');
    });
  });

  describe('admin: the mock gateway', () => {
    it('reads and changes the behaviour, keeping fields left out', async () => {
      const changed = await request(service.baseUrl).put('/api/admin/payment-behavior').send({ minDelayMs: 5, maxDelayMs: 10 }).expect(200);
      expect(changed.body).toEqual({
        failureRate: 0,
        declineRate: 0,
        minDelayMs: 5,
        maxDelayMs: 10,
        preChargeDelayMs: 0,
        webhookDuplicateRate: 0,
        webhookShuffle: false,
      });
      const read = await request(service.baseUrl).get('/api/admin/payment-behavior').expect(200);
      expect(read.body).toEqual(changed.body);
      await request(service.baseUrl).put('/api/admin/payment-behavior').send({ minDelayMs: 0, maxDelayMs: 0 }).expect(200);
    });

    it.each([
      ['a failure rate above 1', { failureRate: 1.5 }],
      ['a negative decline rate', { declineRate: -0.1 }],
      ['a delay above 60 s', { maxDelayMs: 60_001 }],
      ['a minimum above the maximum', { minDelayMs: 500, maxDelayMs: 100 }],
      ['an unknown field', { chaos: true }],
      ['a rate as a string', { failureRate: '0.5' }],
      ['a webhook duplicate rate above 1', { webhookDuplicateRate: 1.01 }],
      ['a webhook shuffle that is not a boolean', { webhookShuffle: 'yes' }],
    ])('refuses %s with 400', async (_case, body) => {
      expectProblem(await request(service.baseUrl).put('/api/admin/payment-behavior').send(body), 400, 'VALIDATION_FAILED');
    });

    it('filters the ledger by client key and by order', async () => {
      const key = newKey();
      const created = await charge(service.baseUrl, key).expect(201);
      const byKey = await request(service.baseUrl).get('/api/admin/provider/charges').query({ idempotencyKey: key }).expect(200);
      expect(byKey.body.charges).toEqual([expect.objectContaining({ id: created.body.id, idempotencyKey: key, orderId: created.body.orderId })]);
      const byOrder = await request(service.baseUrl).get('/api/admin/provider/charges').query({ orderId: created.body.orderId }).expect(200);
      expect(byOrder.body.charges.map((item: { id: string }) => item.id)).toEqual([created.body.id]);
    });
  });

  describe('health', () => {
    it('answers liveness and readiness outside the /api prefix', async () => {
      const live = await request(service.baseUrl).get('/health').expect(200);
      expect(live.body.status).toBe('ok');
      const ready = await request(service.baseUrl).get('/health/ready').expect(200);
      expect(ready.body).toMatchObject({ status: 'ok', details: { redis: { status: 'up', responseTime: expect.any(Number) } } });
    });
  });
});

describe('hardening', () => {
  const service = useTestApp();

  it('sends the security headers of helmet and no X-Powered-By', async () => {
    const response = await request(service.baseUrl).get('/health');
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['strict-transport-security']).toBeDefined();
    expect(response.headers['x-powered-by']).toBeUndefined();
  });

  it.each([
    ['__proto__', '{"amount":1999,"currency":"EUR","customerId":"c1","__proto__":{"polluted":"yes"}}'],
    ['constructor.prototype', '{"amount":1999,"currency":"EUR","customerId":"c1","constructor":{"prototype":{"polluted":"yes"}}}'],
    ['metadata.__proto__', '{"amount":1999,"currency":"EUR","customerId":"c1","metadata":{"__proto__":{"polluted":"yes"}}}'],
  ])('refuses a %s key without polluting any prototype', async (_case, body) => {
    const response = await request(service.baseUrl)
      .post('/api/payments/charge')
      .set('Idempotency-Key', newKey())
      .set('Content-Type', 'application/json')
      .send(body);
    expectProblem(response, 400, 'VALIDATION_FAILED');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined();
  });
});
