import { afterAll, beforeAll, expect, it } from '@jest/globals';
import pg from 'pg';
import request from 'supertest';
import type { ServiceProcess } from '../harness/index.js';
import { ledger, orderOf } from '../support/charge-load.js';
import { fileDatabaseUrl } from '../support/database.js';
import { balanceOf, outboxEntries, waitUntilAllConsumed } from '../support/events-client.js';
import { startInstances } from '../support/instances.js';
import { sample } from '../support/metrics.js';
import { charge, newKey, setBehavior, validCharge } from '../support/payments-client.js';
import { describeWithRedisBinary } from '../support/redis.js';
import { startRedisTopology, type RedisTopology } from '../support/redis-topology.js';
import { waitFor } from '../support/wait-for.js';

const RECONCILE_AFTER_SECONDS = 1;
const RECONCILE_INTERVAL_MS = 200;
/** The reconcile age, the dead holder's lock TTL (2 s, see instances.ts) and a few sweeps; the rest is slack for a busy machine. */
const SETTLED_WITHIN_MS = 15_000;

/** How many orders the instances' reconcilers settled so far, with this result. */
async function reconciledBy(services: ServiceProcess[], result: 'paid' | 'abandoned'): Promise<number> {
  const counts = await Promise.all(
    services.map(async (service) => sample((await request(service.baseUrl).get('/metrics').expect(200)).text, 'payments_orders_reconciled_total', { result })),
  );
  return counts.reduce((sum, count) => sum + count, 0);
}

/**
 * Issue 23, "the reconciler on a Cluster" (where it used to be off): three instances on a Redis
 * Cluster; one is SIGKILLed with two attempts nobody will retry, one whose gateway call charged
 * (its answer never came back) and one whose gateway call had not begun. A surviving instance's
 * reconciler settles both from the gateway's own record, with their events and projections, and
 * never charges.
 */
describeWithRedisBinary('the reconciler on a Redis Cluster, three instances, one killed mid-charge', () => {
  let redis: RedisTopology | undefined;
  let database: pg.Pool | undefined;
  const services: ServiceProcess[] = [];

  beforeAll(async () => {
    redis = await startRedisTopology('cluster');
    const url = await fileDatabaseUrl();
    database = new pg.Pool({ connectionString: url, max: 2 });
    services.push(
      ...(await startInstances({
        ...redis.env,
        DATABASE_URL: url,
        RECONCILE_AFTER_SECONDS: String(RECONCILE_AFTER_SECONDS),
        RECONCILE_INTERVAL_MS: String(RECONCILE_INTERVAL_MS),
      })),
    );
  });

  afterAll(async () => {
    await Promise.all(services.map((service) => service.stop()));
    await database?.end();
    await redis?.stop();
  });

  it('a surviving instance settles them: PAID with its event, receipt and balance; the other ABANDONED, uncharged; retries charge once', async () => {
    const [doomed, survivor, other] = services as [ServiceProcess, ServiceProcess, ServiceProcess];
    const customerId = `cus_${newKey('cluster').slice(-12)}`;
    const body = validCharge({ customerId });
    const dies = (key: string) =>
      charge(doomed.baseUrl, key, body).then(
        (response) => `answered ${response.status}`,
        () => 'connection lost',
      );

    // In flight: the gateway has charged and waits out its latency, so the answer never comes back.
    await setBehavior(doomed.baseUrl, { minDelayMs: 60_000, maxDelayMs: 60_000 });
    const chargedKey = newKey('reconcile-cluster-charged');
    const lost = [dies(chargedKey)];
    await waitFor('the gateway has charged', async () => (await ledger(survivor.baseUrl, { idempotencyKey: chargedKey })).length === 1);
    // Before: the order exists, the gateway has not charged.
    await setBehavior(doomed.baseUrl, { minDelayMs: 0, maxDelayMs: 0, preChargeDelayMs: 60_000 });
    const unchargedKey = newKey('reconcile-cluster-uncharged');
    lost.push(dies(unchargedKey));
    await waitFor('the second order exists', async () => (await orderOf(survivor.baseUrl, unchargedKey)) !== undefined);
    // Both are past the reconcile age while their holder lives: its lock keeps the reconcilers off.
    // (A negative can only be watched for a while: past the reconcile age, a few sweeps.)
    const createdAt = Date.parse((await orderOf(survivor.baseUrl, chargedKey))!.createdAt);
    await waitFor(
      'the first order is past the reconcile age and a few sweeps',
      async () => Date.now() - createdAt > RECONCILE_AFTER_SECONDS * 1000 + 3 * RECONCILE_INTERVAL_MS,
    );
    expect((await orderOf(survivor.baseUrl, chargedKey))?.status).toBe('CREATED');
    expect(await reconciledBy(services, 'paid')).toBe(0);
    await doomed.crash();
    expect(await Promise.all(lost)).toEqual(['connection lost', 'connection lost']);
    await setBehavior(survivor.baseUrl, { preChargeDelayMs: 0 });

    await waitFor(
      'both orders are settled',
      async () =>
        (await orderOf(survivor.baseUrl, chargedKey))?.status === 'PAID' && (await orderOf(survivor.baseUrl, unchargedKey))?.status === 'PAYMENT_FAILED',
      SETTLED_WITHIN_MS,
    );
    const [charged] = await ledger(survivor.baseUrl, { idempotencyKey: chargedKey });
    const paid = (await orderOf(other.baseUrl, chargedKey))!;
    expect(paid).toMatchObject({ id: charged!.orderId, status: 'PAID', payment: { chargeId: charged!.id } });
    const abandoned = (await orderOf(other.baseUrl, unchargedKey))!;
    expect(abandoned.failure).toMatchObject({ code: 'ABANDONED', retryable: true });
    expect(await ledger(survivor.baseUrl, { idempotencyKey: unchargedKey })).toEqual([]);
    // Settled by the survivors, each once.
    expect(await reconciledBy([survivor, other], 'paid')).toBe(1);
    expect(await reconciledBy([survivor, other], 'abandoned')).toBe(1);

    // Events and projections, on a Cluster too.
    const eventsOf = async (orderId: string) =>
      (await outboxEntries(database!)).filter(({ event }) => event.data.orderId === orderId).map(({ event }) => event);
    const [succeeded, ...moreSucceeded] = await eventsOf(paid.id);
    expect([succeeded?.type, moreSucceeded]).toEqual(['payment.succeeded', []]);
    expect((await eventsOf(abandoned.id)).map((event) => event.type)).toEqual(['payment.failed']);
    await waitUntilAllConsumed(database!);
    const receipt = await request(other.baseUrl).get(`/api/orders/${paid.id}/receipt`).expect(200);
    expect(receipt.body).toMatchObject({ orderId: paid.id, chargeId: charged!.id, eventId: succeeded!.id, amount: body.amount, currency: body.currency });
    expect(await balanceOf(other.baseUrl, customerId)).toEqual([{ currency: 'EUR', amount: body.amount, payments: 1 }]);

    // The clients come back after all: the charged key answers its charge, the abandoned one is charged now, once each.
    const retried = await charge(other.baseUrl, chargedKey, body).expect(201);
    expect(retried.body).toMatchObject({ id: charged!.id, orderId: paid.id });
    const resumed = await charge(survivor.baseUrl, unchargedKey, body).expect(201);
    expect(resumed.body.orderId).toBe(abandoned.id);
    expect((await ledger(survivor.baseUrl, { idempotencyKey: chargedKey })).map((entry) => entry.id)).toEqual([charged!.id]);
    expect((await ledger(survivor.baseUrl, { idempotencyKey: unchargedKey })).map((entry) => entry.id)).toEqual([resumed.body.id]);
  });
});
