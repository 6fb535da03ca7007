import { describe, expect, it } from '@jest/globals';
import amqplib, { type GetMessage } from 'amqplib';
import request from 'supertest';
import { PAYMENT_EVENTS_EXCHANGE } from '../../src/events/payment-events.topology.js';
import { balanceOf, outboxEntries, waitUntilAllConsumed, waitUntilAllPublished } from '../support/events-client.js';
import { charge, newKey, setBehavior, validCharge } from '../support/payments-client.js';
import { useTestApp } from '../support/test-app.js';
import { waitFor } from '../support/wait-for.js';
import { expectProblem } from '../support/problem.js';

const KEY_A = 'sk_test_events_merchant_a_0001';
const KEY_B = 'sk_test_events_merchant_b_0002';
const asA = { Authorization: `Bearer ${KEY_A}` };
const asB = { Authorization: `Bearer ${KEY_B}` };

/** Payment events, as the broker carries them and as the projections consumer builds receipts and balances from them. */
describe('payment events → balances and receipts', () => {
  const service = useTestApp({ API_KEYS: `merchantA:${KEY_A},merchantB:${KEY_B}`, WEBHOOK_DELIVERY: 'false' });

  const receipt = (orderId: string, headers: Record<string, string>) => request(service.baseUrl).get(`/api/orders/${orderId}/receipt`).set(headers);

  it('stores payment.succeeded with the PAID order, then shows its receipt and the balance', async () => {
    const customerId = `cus_${newKey('paid').slice(-12)}`;
    const paid = await charge(service.baseUrl, newKey(), validCharge({ customerId, amount: 1250 }), asA).expect(201);

    const order = await request(service.baseUrl).get(`/api/orders/${paid.body.orderId}`).set(asA).expect(200);
    expect(order.body.status).toBe('PAID');
    await waitUntilAllPublished(service.database);
    const events = (await outboxEntries(service.database)).filter(({ event }) => event.data.orderId === paid.body.orderId);
    expect(events).toEqual([
      {
        position: expect.any(Number),
        publishedAt: expect.anything(),
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

  it("publishes each event to payments.events as another team's queue receives it: persistent, its id as messageId and Idempotency-Key", async () => {
    const connection = await amqplib.connect(service.config.BROKER_URL);
    try {
      const channel = await connection.createChannel();
      // Declared as the relay declares it (a no-op if it already did), so the binding cannot come too early.
      await channel.assertExchange(PAYMENT_EVENTS_EXCHANGE, 'topic', { durable: true });
      const { queue } = await channel.assertQueue('', { exclusive: true });
      await channel.bindQueue(queue, PAYMENT_EVENTS_EXCHANGE, 'payment.*');
      const paid = await charge(service.baseUrl, newKey('broker'), validCharge(), asA).expect(201);

      let message: GetMessage | false = false;
      await waitFor('the payment.succeeded message in our queue', async () => {
        message = await channel.get(queue, { noAck: true });
        return message !== false && JSON.parse(message.content.toString()).data.orderId === paid.body.orderId;
      });
      const received = message as unknown as GetMessage;
      const [stored] = (await outboxEntries(service.database)).filter(({ event }) => event.data.orderId === paid.body.orderId);
      expect(JSON.parse(received.content.toString())).toEqual(stored!.event);
      expect(received.fields).toMatchObject({ exchange: PAYMENT_EVENTS_EXCHANGE, routingKey: 'payment.succeeded' });
      expect(received.properties).toMatchObject({
        messageId: stored!.event.id,
        type: 'payment.succeeded',
        contentType: 'application/json',
        deliveryMode: 2,
        headers: expect.objectContaining({ 'Idempotency-Key': stored!.event.id }),
      });
    } finally {
      await connection.close();
    }
  });

  it('sums a customer per currency and per merchant; another merchant sees neither its balance nor its receipts', async () => {
    const customerId = `cus_${newKey('shared').slice(-12)}`;
    const first = await charge(service.baseUrl, newKey(), validCharge({ customerId, amount: 100 }), asA).expect(201);
    await charge(service.baseUrl, newKey(), validCharge({ customerId, amount: 250 }), asA).expect(201);
    await charge(service.baseUrl, newKey(), validCharge({ customerId, amount: 7, currency: 'USD' }), asA).expect(201);
    await charge(service.baseUrl, newKey(), validCharge({ customerId, amount: 999 }), asB).expect(201);
    await waitUntilAllConsumed(service.database);

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
      const events = (await outboxEntries(service.database)).filter(({ event }) => event.data.orderId === order.id);
      expect(events.map(({ event }) => [event.type, event.data.failureCode])).toEqual([['payment.failed', 'CARD_DECLINED']]);
      await waitUntilAllConsumed(service.database);

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

/** The cleanup removes what has served its time and nothing of the business record. */
describe('cleanup (POST /api/admin/cleanup)', () => {
  // No worker, so events stay unpublished until the test says otherwise; stored outcomes live 1 s.
  const service = useTestApp({ EVENTS_WORKER: 'false', EVENTS_RETENTION_SECONDS: '60', IDEMPOTENCY_RESULT_TTL_SECONDS: '1', WEBHOOK_DELIVERY: 'false' });
  const sql = (text: string, values: unknown[] = []) => service.database.query(text, values);

  it('removes expired stored outcomes and published events and markers past the retention; unpublished events, orders and payments stay', async () => {
    const old = await charge(service.baseUrl, newKey('old')).expect(201);
    const recent = await charge(service.baseUrl, newKey('recent')).expect(201);
    // Published an hour ago, and a marker as old: past the 60 s retention.
    await sql(`UPDATE payment_events SET published_at = now() - interval '1 hour' WHERE data->>'orderId' = $1`, [old.body.orderId]);
    await sql(
      `INSERT INTO consumed_events (consumer, event_id, consumed_at) VALUES ('audit', 'evt_old', now() - interval '1 hour'), ('audit', 'evt_new', now())`,
    );
    await waitFor(
      'both stored outcomes to expire',
      async () => (await sql('SELECT count(*)::int AS live FROM idempotency_records WHERE expires_at > now()')).rows[0].live === 0,
    );

    const cleaned = await request(service.baseUrl).post('/api/admin/cleanup').expect(200);
    expect(cleaned.body).toEqual({ idempotencyRecords: 2, events: 1, consumedEvents: 1 });

    const left = await outboxEntries(service.database);
    expect(left.map(({ event }) => event.data.orderId)).toEqual([recent.body.orderId]);
    expect((await sql('SELECT event_id FROM consumed_events')).rows).toEqual([{ event_id: 'evt_new' }]);
    for (const paid of [old, recent]) {
      await request(service.baseUrl).get(`/api/orders/${paid.body.orderId}`).expect(200);
      await request(service.baseUrl).get(`/api/payments/${paid.body.id}`).expect(200);
    }
    expect(await request(service.baseUrl).post('/api/admin/cleanup').expect(200)).toMatchObject({
      body: { idempotencyRecords: 0, events: 0, consumedEvents: 0 },
    });
  });
});
