import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import type { GatewayCharge } from '../../src/gateway/gateway-charge.js';
import { gatewayWebhookFor } from '../../src/gateway/gateway-webhook.js';
import { webhookSecretOf } from '../../src/gateway/webhook-signature.js';
import { newPaymentEvent } from '../../src/events/payment-event.js';
import { fileBrokerUrl, publishByHand } from '../support/broker.js';
import { balanceOf, gatewayStatusOf, outboxEntries, postWebhook, waitUntilAllConsumed, type OutboxEntry } from '../support/events-client.js';
import { duplicatesDropped, metricOf } from '../support/metrics.js';
import { charge, newKey, validCharge } from '../support/payments-client.js';
import { startRedis } from '../support/redis.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { waitFor } from '../support/wait-for.js';

const FIRST_EVENTS = 500;
const LATER_EVENTS = 200;
const DUPLICATES = 300;
const CUSTOMERS = ['cus_dup_a', 'cus_dup_b', 'cus_dup_c', 'cus_dup_d', 'cus_dup_e'];
const CURRENCIES = ['EUR', 'USD'];

/** Runs the tasks with at most `concurrency` at a time. */
async function inBatches<T>(count: number, concurrency: number, task: (index: number) => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  for (let start = 0; start < count; start += concurrency) {
    results.push(...(await Promise.all(Array.from({ length: Math.min(concurrency, count - start) }, (_, offset) => task(start + offset)))));
  }
  return results;
}

function shuffled<T>(items: T[]): T[] {
  const copy = [...items];
  for (let index = copy.length - 1; index > 0; index--) {
    const other = Math.floor(Math.random() * (index + 1));
    [copy[index], copy[other]] = [copy[other]!, copy[index]!];
  }
  return copy;
}

/**
 * At-least-once delivery at its worst: 500 real payments' events relayed and consumed, then 300 of
 * them, picked at random, marked unpublished again (their "published" lost, as a relay's would be
 * after a commit it never heard back from) mixed with 200 new ones, relayed and consumed by an
 * instance that starts afresh: the broker delivers the 300 again. The projections must equal the
 * gateway's ledger, and every event delivered again must be counted as a dropped duplicate. The
 * same event published twice by hand changes the projections once. Webhooks the gateway
 * redelivers to two instances at once change the order once.
 */
describe('700 payment events of which 300 are delivered twice; webhooks redelivered to two instances', () => {
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let producer: TestApp;
  let consumer: TestApp | undefined;

  beforeAll(async () => {
    redis = await startRedis();
    // Charges without a worker: the events stay in the outbox until a consumer starts.
    producer = await startTestApp(redis.url, { EVENTS_WORKER: 'false', WEBHOOK_DELIVERY: 'false' });
  });

  afterAll(async () => {
    await consumer?.close();
    await producer?.close();
    await redis?.stop();
  });

  const chargeMany = (count: number, offset: number) =>
    inBatches(count, 25, (index) =>
      charge(
        producer.baseUrl,
        newKey('dup'),
        validCharge({
          customerId: CUSTOMERS[(offset + index) % CUSTOMERS.length],
          currency: CURRENCIES[(offset + index) % CURRENCIES.length],
          amount: 1 + (((offset + index) * 37) % 5000),
        }),
      ).expect(201),
    );

  it('builds balances and receipts equal to the ledger, dropping each of the 300 duplicates', async () => {
    await chargeMany(FIRST_EVENTS, 0);
    consumer = await startTestApp(redis.url, { EVENTS_WORKER: 'true', WEBHOOK_DELIVERY: 'false' });
    await waitUntilAllConsumed(producer.database, 30_000);
    await consumer.close();
    consumer = undefined;

    const applied = await outboxEntries(producer.database);
    expect(applied).toHaveLength(FIRST_EVENTS);
    const redelivered = shuffled(applied).slice(0, DUPLICATES);
    const { rowCount } = await producer.database.query('UPDATE payment_events SET published_at = NULL WHERE id = ANY($1::text[])', [
      redelivered.map(({ event }) => event.id),
    ]);
    expect(rowCount).toBe(DUPLICATES);
    await chargeMany(LATER_EVENTS, FIRST_EVENTS);
    const pending = (await outboxEntries(producer.database)).filter((entry) => entry.publishedAt === null);
    expect(pending).toHaveLength(DUPLICATES + LATER_EVENTS);

    consumer = await startTestApp(redis.url, { EVENTS_WORKER: 'true', WEBHOOK_DELIVERY: 'false' });
    await waitUntilAllConsumed(producer.database, 30_000);
    // The markers of the 300 were there before they were published again: their deliveries arrive after.
    await waitFor('the 300 duplicates are dropped', async () => (await duplicatesDropped(consumer!.baseUrl, 'broker')) >= DUPLICATES, 30_000);
    expect(await duplicatesDropped(consumer.baseUrl, 'broker')).toBe(DUPLICATES);
    expect(await metricOf(consumer.baseUrl, 'payments_events_consumed_total', { consumer: 'projections' })).toBe(LATER_EVENTS);

    const ledger = (await request(producer.baseUrl).get('/api/admin/provider/charges').expect(200)).body.charges as GatewayCharge[];
    expect(ledger).toHaveLength(FIRST_EVENTS + LATER_EVENTS);
    for (const customerId of CUSTOMERS) {
      const expected = CURRENCIES.map((currency) => {
        const charges = ledger.filter((entry) => entry.customerId === customerId && entry.currency === currency);
        return { currency, amount: charges.reduce((sum, entry) => sum + entry.amount, 0), payments: charges.length };
      }).filter((balance) => balance.payments > 0);
      expect(await balanceOf(consumer.baseUrl, customerId)).toEqual(expected);
    }
    const receipts = await inBatches(ledger.length, 50, (index) => request(consumer!.baseUrl).get(`/api/orders/${ledger[index]!.orderId}/receipt`).expect(200));
    expect(receipts.map((receipt) => receipt.body.chargeId)).toEqual(ledger.map((entry) => entry.id));
  });

  it('applies an event published twice by hand (the same messageId and Idempotency-Key) once', async () => {
    consumer ??= await startTestApp(redis.url, { EVENTS_WORKER: 'true', WEBHOOK_DELIVERY: 'false' });
    const customerId = 'cus_dup_by_hand';
    const paid = await charge(producer.baseUrl, newKey('dup-by-hand'), validCharge({ customerId, amount: 4242 })).expect(201);
    await waitUntilAllConsumed(producer.database);
    const [{ event }] = (await outboxEntries(producer.database)).filter((entry) => entry.event.data.orderId === paid.body.orderId) as [OutboxEntry];
    // An event of a payment the relay never published (its order is not in this service): new, then the same again.
    const unseen = newPaymentEvent('payment.succeeded', new Date().toISOString(), {
      ...event.data,
      orderId: `ord_by_hand_${newKey()}`,
      chargeId: 'ch_by_hand',
    });
    const droppedBefore = await duplicatesDropped(consumer.baseUrl, 'broker');

    await publishByHand(
      await fileBrokerUrl(),
      [event, event, unseen, unseen].map((message) => ({ body: message, id: message.id })),
    );

    await waitFor('3 of the 4 deliveries are dropped as duplicates', async () => (await duplicatesDropped(consumer!.baseUrl, 'broker')) >= droppedBefore + 3);
    await waitUntilAllConsumed(producer.database);
    expect(await duplicatesDropped(consumer.baseUrl, 'broker')).toBe(droppedBefore + 3);
    expect(await balanceOf(consumer.baseUrl, customerId)).toEqual([{ currency: 'EUR', amount: 2 * 4242, payments: 2 }]);
    const receipt = await request(consumer.baseUrl).get(`/api/orders/${paid.body.orderId}/receipt`).expect(200);
    expect(receipt.body).toMatchObject({ chargeId: paid.body.id, eventId: event.id });
    const { rows } = await producer.database.query<{ event_id: string }>('SELECT event_id FROM receipts WHERE order_id = $1', [unseen.data.orderId]);
    expect(rows).toEqual([{ event_id: unseen.id }]);
  });

  it('applies a webhook redelivered 20 times at once to two instances once', async () => {
    const paid = await charge(producer.baseUrl, newKey('dup-webhook')).expect(201);
    expect(await gatewayStatusOf(producer.baseUrl, paid.body.orderId)).toBeUndefined();
    consumer ??= await startTestApp(redis.url, { EVENTS_WORKER: 'false', WEBHOOK_DELIVERY: 'false' });
    const instances = [producer, consumer];
    const droppedBefore = await Promise.all(instances.map((instance) => duplicatesDropped(instance.baseUrl, 'webhook')));
    const webhook = gatewayWebhookFor('charge.succeeded', paid.body);
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, index) => postWebhook(instances[index % 2]!.baseUrl, webhook, { secret: webhookSecretOf(producer.config) }).expect(200)),
    );
    const results = responses.map((response) => response.body.result as string).sort();
    expect(results).toEqual(['applied', ...Array.from({ length: 19 }, () => 'duplicate')]);
    // Both instances run in this process and hear one diagnostics channel: each counts all 19 drops.
    const droppedAfter = await Promise.all(instances.map((instance) => duplicatesDropped(instance.baseUrl, 'webhook')));
    expect(droppedAfter.map((count, index) => count - droppedBefore[index]!)).toEqual([19, 19]);
    expect(await gatewayStatusOf(consumer.baseUrl, paid.body.orderId)).toBe('succeeded');
  });
});
