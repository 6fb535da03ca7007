import { describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import { PAYMENTS_STREAM } from '../../src/events/payment-event.js';
import { balanceOf, streamEntries, waitUntilAllConsumed } from '../support/events-client.js';
import { charge, newKey, setBehavior, validCharge } from '../support/payments-client.js';
import { useTestApp } from '../support/test-app.js';
import { waitFor } from '../support/wait-for.js';
import { expectProblem } from '../support/problem.js';

const KEY_A = 'sk_test_events_merchant_a_0001';
const KEY_B = 'sk_test_events_merchant_b_0002';
const asA = { Authorization: `Bearer ${KEY_A}` };
const asB = { Authorization: `Bearer ${KEY_B}` };

/** Payment events and the projections the in-process worker builds from them, over HTTP. */
describe('payment events → balances and receipts', () => {
  const service = useTestApp({ API_KEYS: `merchantA:${KEY_A},merchantB:${KEY_B}`, WEBHOOK_DELIVERY: 'false' });

  const receipt = (orderId: string, headers: Record<string, string>) => request(service.baseUrl).get(`/api/orders/${orderId}/receipt`).set(headers);

  it('stores payment.succeeded with the PAID order, then shows its receipt and the balance', async () => {
    const customerId = `cus_${newKey('paid').slice(-12)}`;
    const paid = await charge(service.baseUrl, newKey(), validCharge({ customerId, amount: 1250 }), asA).expect(201);

    const order = await request(service.baseUrl).get(`/api/orders/${paid.body.orderId}`).set(asA).expect(200);
    expect(order.body.status).toBe('PAID');
    const events = (await streamEntries(service.redis)).filter(({ event }) => event.data.orderId === paid.body.orderId);
    expect(events).toEqual([
      {
        entryId: expect.any(String),
        event: {
          id: expect.stringMatching(/^evt_[0-9a-f]{32}$/),
          type: 'payment.succeeded',
          occurredAt: order.body.updatedAt,
          data: { orderId: paid.body.orderId, owner: 'merchantA', customerId, amount: 1250, currency: 'EUR', chargeId: paid.body.id },
        },
      },
    ]);

    await waitFor('the receipt exists', async () => (await receipt(paid.body.orderId, asA)).status === 200);
    const shown = await receipt(paid.body.orderId, asA);
    expect(shown.body).toEqual({
      orderId: paid.body.orderId,
      chargeId: paid.body.id,
      customerId,
      amount: 1250,
      currency: 'EUR',
      paidAt: order.body.updatedAt,
      eventId: events[0]!.event.id,
    });
    expect(await balanceOf(service.baseUrl, customerId, asA)).toEqual([{ currency: 'EUR', amount: 1250, payments: 1 }]);
  });

  it('sums a customer per currency and per merchant; another merchant sees neither its balance nor its receipts', async () => {
    const customerId = `cus_${newKey('shared').slice(-12)}`;
    const first = await charge(service.baseUrl, newKey(), validCharge({ customerId, amount: 100 }), asA).expect(201);
    await charge(service.baseUrl, newKey(), validCharge({ customerId, amount: 250 }), asA).expect(201);
    await charge(service.baseUrl, newKey(), validCharge({ customerId, amount: 7, currency: 'USD' }), asA).expect(201);
    await charge(service.baseUrl, newKey(), validCharge({ customerId, amount: 999 }), asB).expect(201);
    await waitUntilAllConsumed(service.redis);

    expect(await balanceOf(service.baseUrl, customerId, asA)).toEqual([
      { currency: 'EUR', amount: 350, payments: 2 },
      { currency: 'USD', amount: 7, payments: 1 },
    ]);
    expect(await balanceOf(service.baseUrl, customerId, asB)).toEqual([{ currency: 'EUR', amount: 999, payments: 1 }]);
    const foreign = await receipt(first.body.orderId, asB);
    expectProblem(foreign, 404, 'ORDER_NOT_FOUND');
    await receipt(first.body.orderId, asA).expect(200);
  });

  it('stores payment.failed with a declined order; it gets no receipt and leaves the balance alone', async () => {
    const customerId = `cus_${newKey('declined').slice(-12)}`;
    await setBehavior(service.baseUrl, { declineRate: 1 });
    try {
      const declined = await charge(service.baseUrl, newKey(), validCharge({ customerId }), asA).expect(402);
      const orders = await request(service.baseUrl).get('/api/orders').set(asA).query({ limit: 100 }).expect(200);
      const order = (orders.body.data as Array<{ id: string; customerId: string; status: string }>).find((candidate) => candidate.customerId === customerId)!;
      expect(order.status).toBe('PAYMENT_FAILED');
      expect(declined.body.code).toBe('CARD_DECLINED');
      const events = (await streamEntries(service.redis)).filter(({ event }) => event.data.orderId === order.id);
      expect(events.map(({ event }) => [event.type, event.data.failureCode])).toEqual([['payment.failed', 'CARD_DECLINED']]);
      await waitUntilAllConsumed(service.redis);

      const missing = await receipt(order.id, asA);
      expectProblem(missing, 404, 'RECEIPT_NOT_FOUND');
      expect(await balanceOf(service.baseUrl, customerId, asA)).toEqual([]);
    } finally {
      await setBehavior(service.baseUrl, { declineRate: 0 });
    }
  });

  it('answers problems for an unknown order, an invalid customer id and a missing API key', async () => {
    expectProblem(await receipt('ord_000000000000000000000000', asA), 404, 'ORDER_NOT_FOUND');
    const invalid = await request(service.baseUrl).get('/api/customers/not%20valid/balance').set(asA);
    expect(expectProblem(invalid, 400, 'VALIDATION_FAILED').errors).toEqual([{ field: 'id', message: expect.any(String) }]);
    expectProblem(await request(service.baseUrl).get('/api/customers/cus_1/balance'), 401, 'UNAUTHENTICATED');
  });
});

/** The stream keeps what a consumer still needs and sheds the rest after EVENTS_RETENTION_SECONDS. */
describe('payment event retention', () => {
  // Retention 1 s; the worker reclaims, and so trims, every 200 ms.
  const service = useTestApp({ EVENTS_RETENTION_SECONDS: '1', EVENTS_CLAIM_MIN_IDLE_MS: '400', WEBHOOK_DELIVERY: 'false' });
  const AUDIT_GROUP = 'audit';
  const streamLength = () => service.redis.xlen(PAYMENTS_STREAM);

  it('keeps events a consumer group has not acknowledged, however old, and trims them once it has', async () => {
    // A second group that reads nothing yet, as another service consuming the events would be.
    await service.redis.xgroup('CREATE', PAYMENTS_STREAM, AUDIT_GROUP, '0', 'MKSTREAM');
    try {
      const paid = await charge(service.baseUrl, newKey('retained')).expect(201);
      await waitUntilAllConsumed(service.redis);
      await sleep(2000); // twice the retention, ten trims
      const kept = await streamEntries(service.redis);
      expect(kept.map(({ event }) => event.data.orderId)).toContain(paid.body.orderId);

      const read = (await service.redis.xreadgroup('GROUP', AUDIT_GROUP, 'auditor', 'COUNT', 1000, 'STREAMS', PAYMENTS_STREAM, '>')) as Array<
        [string, Array<[string, string[]]>]
      >;
      const ids = read[0]![1].map(([entryId]) => entryId);
      expect(ids).toContain(kept.find(({ event }) => event.data.orderId === paid.body.orderId)!.entryId);
      // Delivered but not acknowledged: still needed.
      await sleep(1000);
      expect(await streamLength()).toBeGreaterThanOrEqual(ids.length);
      await service.redis.xack(PAYMENTS_STREAM, AUDIT_GROUP, ...ids);
      await waitFor('the acknowledged events to leave the stream', async () => (await streamLength()) === 0);
    } finally {
      await service.redis.xgroup('DESTROY', PAYMENTS_STREAM, AUDIT_GROUP);
    }
  });

  it('keeps new events for the retention, then trims them once every group has acknowledged them', async () => {
    const paid = await charge(service.baseUrl, newKey('recent')).expect(201);
    await waitUntilAllConsumed(service.redis);
    // Consumed within a few hundred ms, well before the retention has passed: still in the stream.
    expect((await streamEntries(service.redis)).map(({ event }) => event.data.orderId)).toContain(paid.body.orderId);
    await waitFor('the event to leave the stream after the retention', async () => (await streamLength()) === 0, 5000);
    // The projections it fed are kept: only the stream is trimmed.
    await request(service.baseUrl).get(`/api/orders/${paid.body.orderId}/receipt`).expect(200);
  });
});
