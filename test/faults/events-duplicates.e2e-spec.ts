import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { PAYMENTS_STREAM, toStreamFields } from '../../src/events/payment-event.js';
import type { GatewayCharge } from '../../src/gateway/gateway-charge.js';
import { balanceOf, streamEntries, waitUntilAllConsumed } from '../support/events-client.js';
import { duplicatesDropped } from '../support/metrics.js';
import { charge, newKey, validCharge } from '../support/payments-client.js';
import { startRedis } from '../support/redis.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const UNIQUE_EVENTS = 700;
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
 * At-least-once delivery at its worst: 700 real payments' events plus 300 redelivered copies
 * (30 % of 1,000), in shuffled order, consumed by the in-process worker. The projections must
 * equal the gateway's ledger, and every copy must be counted as a dropped duplicate.
 */
describe('1,000 payment events with 30 % duplicates, shuffled', () => {
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let producer: TestApp;
  let consumer: TestApp | undefined;

  beforeAll(async () => {
    redis = await startRedis();
    // Charges without a worker, so the stream can be rewritten before anything consumes it.
    producer = await startTestApp(redis.url, { EVENTS_WORKER: 'false', WEBHOOK_DELIVERY: 'false' });
  });

  afterAll(async () => {
    await consumer?.close();
    await producer?.close();
    await redis?.stop();
  });

  it('builds balances and receipts equal to the ledger, dropping each of the 300 duplicates', async () => {
    await inBatches(UNIQUE_EVENTS, 25, (index) =>
      charge(
        producer.baseUrl,
        newKey('dup'),
        validCharge({ customerId: CUSTOMERS[index % CUSTOMERS.length], currency: CURRENCIES[index % CURRENCIES.length], amount: 1 + ((index * 37) % 5000) }),
      ).expect(201),
    );
    const originals = await streamEntries(producer.redis);
    expect(originals).toHaveLength(UNIQUE_EVENTS);
    const copies = Array.from({ length: DUPLICATES }, () => originals[Math.floor(Math.random() * originals.length)]!);
    const delivered = shuffled([...originals, ...copies]);
    await producer.redis.del(PAYMENTS_STREAM);
    const pipeline = producer.redis.pipeline();
    for (const { event } of delivered) pipeline.xadd(PAYMENTS_STREAM, '*', ...toStreamFields(event));
    await pipeline.exec();
    expect(await producer.redis.xlen(PAYMENTS_STREAM)).toBe(UNIQUE_EVENTS + DUPLICATES);

    consumer = await startTestApp(redis.url, { EVENTS_WORKER: 'true', WEBHOOK_DELIVERY: 'false' });
    const droppedBefore = await duplicatesDropped(consumer.baseUrl, 'stream');
    await waitUntilAllConsumed(consumer.redis, 20_000);
    expect(await duplicatesDropped(consumer.baseUrl, 'stream')).toBe(droppedBefore + DUPLICATES);

    const ledger = (await request(producer.baseUrl).get('/api/admin/provider/charges').expect(200)).body.charges as GatewayCharge[];
    expect(ledger).toHaveLength(UNIQUE_EVENTS);
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
});
