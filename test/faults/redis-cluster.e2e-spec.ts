import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { toIdempotencyContext } from '@idempotent-payments/nestjs-idempotency';
import { recordKeys } from '@idempotent-payments/nestjs-idempotency/redis';
import { Cluster } from 'ioredis';
import request from 'supertest';
import { RedisCluster } from '../../tools/process/index.js';
import { describeWithRedisBinary } from '../support/redis.js';
import { REDIS_CLIENT, REDIS_LOCK_CLIENTS } from '../../src/redis/index.js';
import { PAYMENTS_STREAM } from '../../src/events/payment-event.js';
import { gatewayWebhookFor } from '../../src/gateway/gateway-webhook.js';
import { webhookSecretOf } from '../../src/gateway/webhook-signature.js';
import { postWebhook } from '../support/events-client.js';
import { CHARGE_PATH, charge, ledgerCount, newKey, setBehavior, validCharge } from '../support/payments-client.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { expectProblem } from '../support/problem.js';

const responseKey = (recordId: string) => recordKeys(recordId).response;
const lockKey = (recordId: string) => recordKeys(recordId).lock;
const recordIdOf = (key: string) => toIdempotencyContext({ principal: 'anonymous', method: 'POST', route: CHARGE_PATH, key }, '').recordId;

/** The service against a real three-master Redis Cluster (REDIS_CLUSTER_NODES), over HTTP. */
describeWithRedisBinary('Redis Cluster mode', () => {
  let cluster: RedisCluster;
  let service: TestApp;
  let store: Cluster;

  beforeAll(async () => {
    cluster = await RedisCluster.start();
    // Its assertion client is a standalone one on the first node: only for commands without keys.
    service = await startTestApp(cluster.urls[0]!, { REDIS_CLUSTER_NODES: cluster.urls.join(',') });
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

  it('emits no events (they need a standalone Redis) and answers the event routes 501 EVENTS_UNSUPPORTED', async () => {
    const paid = await charge(service.baseUrl, newKey('cluster-events')).expect(201);
    const order = await request(service.baseUrl).get(`/api/orders/${paid.body.orderId}`).expect(200);
    expect(order.body.status).toBe('PAID');
    expect(await store.exists(PAYMENTS_STREAM)).toBe(0);
    const responses = [
      await request(service.baseUrl).get('/api/customers/cus_123/balance'),
      await request(service.baseUrl).get(`/api/orders/${paid.body.orderId}/receipt`),
      await postWebhook(service.baseUrl, gatewayWebhookFor('charge.succeeded', paid.body), { secret: webhookSecretOf(service.config) }),
    ];
    for (const response of responses) expect(response.body).toMatchObject({ status: 501, code: 'EVENTS_UNSUPPORTED' });
  });

  it('is ready (/health/ready 200) with the cluster up', async () => {
    const ready = await request(service.baseUrl).get('/health/ready').expect(200);
    expect(ready.body).toMatchObject({ status: 'ok', details: { redis: { status: 'up' } } });
  });
});
