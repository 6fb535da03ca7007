import { describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { charge, newKey } from '../support/payments-client.js';
import { useTestApp } from '../support/test-app.js';

const KEY_A = 'sk_test_merchant_a_0123456789';
const KEY_B = 'sk_test_merchant_b_9876543210';
const asA = { Authorization: `Bearer ${KEY_A}` };
const asB = { Authorization: `Bearer ${KEY_B}` };

describe('GET /api/orders?idempotencyKey=: the order a key created', () => {
  // No webhooks: their gateway status would change the order between the two reads compared below.
  const service = useTestApp({ API_KEYS: `merchantA:${KEY_A},merchantB:${KEY_B}`, WEBHOOK_DELIVERY: 'false' });

  const lookUp = (key: string, headers = asA) => request(service.baseUrl).get('/api/orders').set(headers).query({ idempotencyKey: key });

  it("answers the caller's order for its key, as the order route shows it", async () => {
    const key = newKey('lookup');
    const charged = await charge(service.baseUrl, key, undefined, asA).expect(201);
    const found = await lookUp(key).expect(200);
    const order = await request(service.baseUrl).get(`/api/orders/${charged.body.orderId}`).set(asA).expect(200);
    expect(found.body).toEqual({ data: [order.body], nextCursor: null });
    expect(found.body.data[0]).toMatchObject({ id: charged.body.orderId, idempotencyKey: key, status: 'PAID', payment: { chargeId: charged.body.id } });
  });

  it('finds the order of a key sent in its quoted (structured-field) form by the bare key', async () => {
    const key = newKey('lookup-quoted');
    const charged = await charge(service.baseUrl, `"${key}"`, undefined, asA).expect(201);
    expect((await lookUp(key).expect(200)).body.data.map((order: { id: string }) => order.id)).toEqual([charged.body.orderId]);
  });

  it("finds nothing for another merchant's key, nor for a key never used", async () => {
    const key = newKey('lookup-other');
    await charge(service.baseUrl, key, undefined, asA).expect(201);
    expect((await lookUp(key, asB).expect(200)).body).toEqual({ data: [], nextCursor: null });
    expect((await lookUp(newKey('never-used')).expect(200)).body).toEqual({ data: [], nextCursor: null });
  });

  it.each([
    ['empty', ''],
    ['over 255 characters', 'k'.repeat(256)],
    ['with a space', 'two words'],
    ['with a non-ASCII character', 'clé-1'],
    ['with a control character', 'key\u0007'],
  ])('answers a 400 problem for a key %s', async (_case, key) => {
    const response = await lookUp(key).expect(400);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.body).toMatchObject({
      status: 400,
      code: 'VALIDATION_FAILED',
      errors: expect.arrayContaining([expect.objectContaining({ field: 'idempotencyKey' })]),
    });
  });

  it('answers a 400 problem for a key sent twice', async () => {
    const response = await request(service.baseUrl).get('/api/orders?idempotencyKey=a&idempotencyKey=b').set(asA).expect(400);
    expect(response.body).toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('accepts the longest key, 255 characters', async () => {
    await lookUp('k'.repeat(255)).expect(200);
  });
});
