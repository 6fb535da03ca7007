import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { toIdempotencyContext } from '@idempotent-payments/nestjs-idempotency';
import { recordKeys } from '@idempotent-payments/nestjs-idempotency/redis';
import { Cluster } from 'ioredis';
import request from 'supertest';
import { RedisCluster, ServiceProcess } from '../harness/index.js';
import { describeWithRedisBinary } from '../support/redis.js';
import { REDIS_CLIENT, REDIS_LOCK_CLIENTS } from '../../src/redis/index.js';
import { gatewayWebhookFor } from '../../src/gateway/gateway-webhook.js';
import { webhookSecretOf } from '../../src/gateway/webhook-signature.js';
import { fileDatabaseUrl } from '../support/database.js';
import { fileBrokerUrl } from '../support/broker.js';
import { balanceOf, gatewayStatusOf, outboxEntries, postWebhook, waitUntilAllConsumed, waitUntilAllPublished } from '../support/events-client.js';
import { CHARGE_PATH, charge, ledgerCount, newKey, setBehavior, validCharge } from '../support/payments-client.js';
import { waitFor } from '../support/wait-for.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { expectProblem } from '../support/problem.js';

const responseKey = (recordId: string) => recordKeys(recordId).response;
const lockKey = (recordId: string) => recordKeys(recordId).lock;
const recordIdOf = (key: string) => toIdempotencyContext({ principal: 'anonymous', method: 'POST', route: CHARGE_PATH, key }, '').recordId;

/** Short enough that the reconciler test settles in seconds; long enough for the 1 s charges of the concurrency test. */
const RECONCILE_ENV = { RECONCILE_AFTER_SECONDS: '2', RECONCILE_INTERVAL_MS: '200', IDEMPOTENCY_LOCK_TTL_MS: '2000' };

async function orderByKey(
  baseUrl: string,
  key: string,
): Promise<{ id: string; status: string; payment?: { chargeId: string }; failure?: { code: string } } | undefined> {
  return (await request(baseUrl).get('/api/orders').query({ idempotencyKey: key }).expect(200)).body.data[0];
}

/** A charge whose connection the test expects to lose when it kills the service. */
function chargeThatDies(baseUrl: string, key: string): Promise<string> {
  return charge(baseUrl, key).then(
    (response) => `answered ${response.status}`,
    () => 'connection lost',
  );
}

/** The service against a real three-master Redis Cluster (REDIS_CLUSTER_NODES), over HTTP. */
describeWithRedisBinary('Redis Cluster mode', () => {
  let cluster: RedisCluster;
  let service: TestApp;
  let store: Cluster;

  beforeAll(async () => {
    cluster = await RedisCluster.start();
    // Its assertion client is a standalone one on the first node: only for commands without keys.
    service = await startTestApp(cluster.urls[0]!, { REDIS_CLUSTER_NODES: cluster.urls.join(','), ...RECONCILE_ENV });
    store = service.app.get<Cluster>(REDIS_CLIENT);
  });

  afterAll(async () => {
    await service?.close();
    await cluster?.stop();
  });

  it('uses a Cluster client for the store and for the lock', () => {
    expect(store).toBeInstanceOf(Cluster);
    expect(store.status).toBe('ready');
    expect(service.app.get(REDIS_LOCK_CLIENTS)).toEqual([store]);
  });

  it('charges once (201, Idempotency-Cached: false), then replays byte for byte', async () => {
    const key = newKey('cluster');
    const first = await charge(service.baseUrl, key);
    expect(first.status).toBe(201);
    expect(first.headers['idempotency-cached']).toBe('false');
    expect(first.body).toMatchObject({ id: expect.stringMatching(/^ch_/), orderId: expect.stringMatching(/^ord_/), status: 'succeeded' });

    const retry = await charge(service.baseUrl, key);
    expect(retry.status).toBe(201);
    expect(retry.headers['idempotency-cached']).toBe('true');
    expect(retry.text).toBe(first.text);
    expect(retry.headers.location).toBe(first.headers.location);
    expect(await ledgerCount(service.baseUrl, key)).toBe(1);
  });

  it('refuses the same key with another body (422) and does not charge again', async () => {
    const key = newKey('cluster');
    await charge(service.baseUrl, key).expect(201);
    const reused = await charge(service.baseUrl, key, validCharge({ amount: 5000 }));
    expectProblem(reused, 422, 'IDEMPOTENCY_KEY_REUSED');
    expect(await ledgerCount(service.baseUrl, key)).toBe(1);
  });

  it('charges exactly once for 30 concurrent requests with one key; the others get 409', async () => {
    // Long enough for all 30 to arrive while the charge runs, even on a busy machine (else late ones are replays).
    await setBehavior(service.baseUrl, { minDelayMs: 1000, maxDelayMs: 1000 });
    try {
      const key = newKey('cluster-concurrent');
      const responses = await Promise.all(Array.from({ length: 30 }, () => charge(service.baseUrl, key)));
      const successes = responses.filter((response) => response.status === 201);
      const conflicts = responses.filter((response) => response.status === 409);
      expect(successes).toHaveLength(1);
      expect(successes[0]!.headers['idempotency-cached']).toBe('false');
      expect(conflicts).toHaveLength(29);
      for (const conflict of conflicts) expect(conflict.body.code).toBe('REQUEST_IN_PROGRESS');
      expect(await ledgerCount(service.baseUrl, key)).toBe(1);
      const ledger = await request(service.baseUrl).get('/api/admin/provider/charges').query({ idempotencyKey: key }).expect(200);
      expect(ledger.body.charges[0].id).toBe(successes[0]!.body.id);
    } finally {
      await setBehavior(service.baseUrl, { minDelayMs: 0, maxDelayMs: 0 });
    }
  });

  it("keeps a record's keys in one slot, on the cluster, and spreads records over the masters", async () => {
    const key = newKey('cluster-slot');
    await charge(service.baseUrl, key).expect(201);
    const recordId = recordIdOf(key);
    const [responseSlot, lockSlot] = await Promise.all([
      service.redis.cluster('KEYSLOT', responseKey(recordId)),
      service.redis.cluster('KEYSLOT', lockKey(recordId)),
    ]);
    expect(responseSlot).toBe(lockSlot);
    expect(await store.exists(responseKey(recordId))).toBe(1);
    // The lock was taken on the cluster too, and released there.
    expect(await store.exists(lockKey(recordId))).toBe(0);

    // Twelve more records: all on one of three masters would be a chance of 3 in 3^12.
    for (let index = 0; index < 12; index++) await charge(service.baseUrl, newKey('cluster-spread')).expect(201);
    const keysPerMaster = await Promise.all(store.nodes('master').map((node) => node.dbsize()));
    expect(keysPerMaster.filter((count) => count > 0).length).toBeGreaterThan(1);
  });

  it('lists orders across slots, page by page', async () => {
    const created: string[] = [];
    for (let index = 0; index < 3; index++) created.push((await charge(service.baseUrl, newKey('cluster-list')).expect(201)).body.orderId);
    const all = await request(service.baseUrl).get('/api/orders').query({ limit: 100 }).expect(200);
    expect(all.body.data.map((order: { id: string }) => order.id)).toEqual(expect.arrayContaining(created));

    const firstPage = await request(service.baseUrl).get('/api/orders').query({ limit: 2 }).expect(200);
    expect(firstPage.body.data).toHaveLength(2);
    expect(firstPage.body.nextCursor).toEqual(expect.any(String));
    const secondPage = await request(service.baseUrl).get('/api/orders').query({ limit: 2, cursor: firstPage.body.nextCursor }).expect(200);
    const ids = (page: request.Response) => page.body.data.map((order: { id: string }) => order.id) as string[];
    expect(ids(secondPage).length).toBeGreaterThan(0);
    expect(ids(secondPage).filter((id) => ids(firstPage).includes(id))).toEqual([]);
  });

  it('publishes the payment events from the outbox and builds the receipt and the balance', async () => {
    const customerId = `cus_${newKey().slice(-12)}`;
    const paid = await charge(service.baseUrl, newKey('cluster-events'), validCharge({ customerId })).expect(201);
    await waitUntilAllConsumed(service.database);
    const events = (await outboxEntries(service.database)).map(({ event }) => event).filter((event) => event.data.orderId === paid.body.orderId);
    expect(events.map((event) => event.type)).toEqual(['payment.succeeded']);
    const receipt = await request(service.baseUrl).get(`/api/orders/${paid.body.orderId}/receipt`).expect(200);
    expect(receipt.body).toMatchObject({ chargeId: paid.body.id, eventId: events[0]!.id, amount: 1999 });
    expect(await balanceOf(service.baseUrl, customerId)).toEqual([{ currency: 'EUR', amount: 1999, payments: 1 }]);
  });

  it("records the gateway's webhooks, each delivery once", async () => {
    const paid = await charge(service.baseUrl, newKey('cluster-webhooks')).expect(201);
    // The mock gateway delivers its own webhooks to this instance.
    await waitFor('the gateway status is succeeded', async () => (await gatewayStatusOf(service.baseUrl, paid.body.orderId)) === 'succeeded');
    const webhook = gatewayWebhookFor('charge.pending', paid.body);
    const options = { secret: webhookSecretOf(service.config) };
    expect((await postWebhook(service.baseUrl, webhook, options).expect(200)).body.result).toBe('ignored');
    expect((await postWebhook(service.baseUrl, webhook, options).expect(200)).body.result).toBe('duplicate');
    expect(await gatewayStatusOf(service.baseUrl, paid.body.orderId)).toBe('succeeded');
  });

  it('finds the order of a key', async () => {
    const key = newKey('cluster-lookup');
    const paid = await charge(service.baseUrl, key).expect(201);
    expect(await orderByKey(service.baseUrl, key)).toMatchObject({ id: paid.body.orderId, status: 'PAID', payment: { chargeId: paid.body.id } });
    expect(await orderByKey(service.baseUrl, newKey('cluster-unknown'))).toBeUndefined();
  });

  it('reconciles the orders of a killed instance (PAID if the gateway charged, else ABANDONED) and never charges', async () => {
    // Another instance on the same cluster and database, without a reconciler, dies mid-charge twice.
    const doomed = await ServiceProcess.start({
      REDIS_CLUSTER_NODES: cluster.urls.join(','),
      DATABASE_URL: await fileDatabaseUrl(),
      BROKER_URL: await fileBrokerUrl(),
      EVENTS_WORKER: 'false',
      ...RECONCILE_ENV,
    });
    const chargedKey = newKey('cluster-reconcile-charged');
    const unchargedKey = newKey('cluster-reconcile-uncharged');
    try {
      await setBehavior(doomed.baseUrl, { minDelayMs: 60_000, maxDelayMs: 60_000 });
      const lostCharged = chargeThatDies(doomed.baseUrl, chargedKey);
      await waitFor('the gateway has charged', async () => (await ledgerCount(doomed.baseUrl, chargedKey)) === 1);
      await setBehavior(doomed.baseUrl, { minDelayMs: 0, maxDelayMs: 0, preChargeDelayMs: 60_000 });
      const lostUncharged = chargeThatDies(doomed.baseUrl, unchargedKey);
      await waitFor('the order exists', async () => (await orderByKey(doomed.baseUrl, unchargedKey)) !== undefined);
      await doomed.crash();
      expect([await lostCharged, await lostUncharged]).toEqual(['connection lost', 'connection lost']);
    } finally {
      await doomed.crash();
      await setBehavior(service.baseUrl, { minDelayMs: 0, maxDelayMs: 0, preChargeDelayMs: 0 });
    }

    // This instance's reconciler settles both once the dead instance's locks have expired.
    const settled = async (key: string) => (await orderByKey(service.baseUrl, key))?.status !== 'CREATED';
    await waitFor('both orders are settled', async () => (await settled(chargedKey)) && (await settled(unchargedKey)), 15_000);
    const [charged] = (await request(service.baseUrl).get('/api/admin/provider/charges').query({ idempotencyKey: chargedKey }).expect(200)).body.charges;
    expect(await orderByKey(service.baseUrl, chargedKey)).toMatchObject({ id: charged.orderId, status: 'PAID', payment: { chargeId: charged.id } });
    expect(await orderByKey(service.baseUrl, unchargedKey)).toMatchObject({ status: 'PAYMENT_FAILED', failure: { code: 'ABANDONED' } });
    expect([await ledgerCount(service.baseUrl, chargedKey), await ledgerCount(service.baseUrl, unchargedKey)]).toEqual([1, 0]);
    await waitUntilAllPublished(service.database);
    const types = async (key: string) => {
      const order = await orderByKey(service.baseUrl, key);
      return (await outboxEntries(service.database)).filter(({ event }) => event.data.orderId === order!.id).map(({ event }) => event.type);
    };
    expect([await types(chargedKey), await types(unchargedKey)]).toEqual([['payment.succeeded'], ['payment.failed']]);
  });

  it('is ready (/health/ready 200) with the cluster and the database up', async () => {
    const ready = await request(service.baseUrl).get('/health/ready').expect(200);
    expect(ready.body).toMatchObject({ status: 'ok', details: { redis: { status: 'up' }, database: { status: 'up' } } });
  });
});
