import { describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { charge, newKey, validCharge } from '../support/payments-client.js';
import { useTestApp } from '../support/test-app.js';
import { expectProblem } from '../support/problem.js';

const KEY_A = 'sk_test_merchant_a_0123456789';
const KEY_B = 'sk_test_merchant_b_9876543210';
const ADMIN_TOKEN = 'admin_token_for_tests_0123456789';
const asA = { Authorization: `Bearer ${KEY_A}` };
const asB = { Authorization: `Bearer ${KEY_B}` };
const asAdmin = { 'X-Admin-Token': ADMIN_TOKEN };

describe('API keys, scoping and admin protection', () => {
  const service = useTestApp({ API_KEYS: `merchantA:${KEY_A},merchantB:${KEY_B}`, ADMIN_TOKEN });

  const ledger = async (key: string) =>
    (await request(service.baseUrl).get('/api/admin/provider/charges').set(asAdmin).query({ idempotencyKey: key }).expect(200)).body.charges as Array<{
      id: string;
    }>;

  it.each([
    ['no Authorization header', {}],
    ['an unknown key', { Authorization: 'Bearer sk_test_unknown_000000000000' }],
    ['a key that differs in its last character', { Authorization: `Bearer ${KEY_A.slice(0, -1)}x` }],
    ['a non-bearer scheme', { Authorization: `Basic ${KEY_A}` }],
    ['the admin token instead of a merchant key', { Authorization: `Bearer ${ADMIN_TOKEN}` }],
  ])('answers 401 for %s, before any lock or charge', async (_case, headers) => {
    const key = newKey('unauthenticated');
    const before = await service.redis.keys('idempotency:*');
    const response = await charge(service.baseUrl, key, validCharge(), headers as Record<string, string>);
    expectProblem(response, 401, 'UNAUTHENTICATED');
    expect(response.headers['www-authenticate']).toBe('Bearer');
    expect(response.headers['idempotency-cached']).toBe('false');
    expect(await service.redis.keys('idempotency:*')).toEqual(before);
    expect(await ledger(key)).toEqual([]);
  });

  it("gives merchant B its own execution for merchant A's idempotency key, never A's stored body", async () => {
    const key = newKey('shared');
    const first = await charge(service.baseUrl, key, validCharge(), asA).expect(201);
    const other = await charge(service.baseUrl, key, validCharge(), asB);
    expect(other.status).toBe(201);
    expect(other.headers['idempotency-cached']).toBe('false');
    expect(other.body.id).not.toBe(first.body.id);
    expect(other.body.orderId).not.toBe(first.body.orderId);
    // Each merchant's retry replays its own outcome.
    expect((await charge(service.baseUrl, key, validCharge(), asA)).text).toBe(first.text);
    expect((await charge(service.baseUrl, key, validCharge(), asB)).text).toBe(other.text);
    expect((await ledger(key)).map((item) => item.id).sort()).toEqual([first.body.id, other.body.id].sort());
  });

  it("hides one merchant's orders and payments from another (404, not 403)", async () => {
    const paid = await charge(service.baseUrl, newKey('owned'), validCharge(), asA).expect(201);
    await request(service.baseUrl).get(`/api/orders/${paid.body.orderId}`).set(asA).expect(200);
    await request(service.baseUrl).get(`/api/payments/${paid.body.id}`).set(asA).expect(200);
    expect((await request(service.baseUrl).get(`/api/orders/${paid.body.orderId}`).set(asB)).body.code).toBe('ORDER_NOT_FOUND');
    expect((await request(service.baseUrl).get(`/api/payments/${paid.body.id}`).set(asB)).body.code).toBe('PAYMENT_NOT_FOUND');
    const listedByB = await request(service.baseUrl).get('/api/orders').set(asB).query({ limit: 100 }).expect(200);
    expect(listedByB.body.data.map((order: { id: string }) => order.id)).not.toContain(paid.body.orderId);
    const listedByA = await request(service.baseUrl).get('/api/orders').set(asA).query({ limit: 100 }).expect(200);
    expect(listedByA.body.data.map((order: { id: string }) => order.id)).toContain(paid.body.orderId);
  });

  it('protects the admin routes with the admin token (header or bearer), never a merchant key', async () => {
    const path = '/api/admin/payment-behavior';
    const anonymous = await request(service.baseUrl).get(path);
    expect(anonymous.status).toBe(401);
    // Not an idempotent route: no Idempotency-Cached header.
    expect(anonymous.headers['idempotency-cached']).toBeUndefined();
    expect((await request(service.baseUrl).get(path).set(asA)).status).toBe(401);
    expect((await request(service.baseUrl).get(path).set('X-Admin-Token', `${ADMIN_TOKEN}x`)).body.code).toBe('ADMIN_TOKEN_INVALID');
    await request(service.baseUrl).get(path).set(asAdmin).expect(200);
    await request(service.baseUrl).get(path).set('Authorization', `Bearer ${ADMIN_TOKEN}`).expect(200);
    // The cleanup too: a merchant cannot make the service delete anything.
    expect((await request(service.baseUrl).post('/api/admin/cleanup').set(asA)).status).toBe(401);
    await request(service.baseUrl).post('/api/admin/cleanup').set(asAdmin).expect(200);
  });

  it('leaves the health probes open', async () => {
    await request(service.baseUrl).get('/health').expect(200);
    await request(service.baseUrl).get('/health/ready').expect(200);
  });
});

describe('in production', () => {
  const service = useTestApp({ NODE_ENV: 'production', API_KEYS: `merchantA:${KEY_A}` });

  it('turns the admin routes off (404) when no ADMIN_TOKEN is configured', async () => {
    const response = await request(service.baseUrl).get('/api/admin/provider/charges').set(asA);
    expectProblem(response, 404, 'NOT_FOUND');
  });
});
