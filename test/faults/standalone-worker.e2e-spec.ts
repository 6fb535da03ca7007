import { afterAll, beforeAll, expect, it } from '@jest/globals';
import request from 'supertest';
import { RedisCluster, RedisServer, ServiceProcess } from '../harness/index.js';
import { fileDatabaseUrl } from '../support/database.js';
import { fileBrokerUrl } from '../support/broker.js';
import { balanceOf, waitUntilAllConsumed } from '../support/events-client.js';
import { sample } from '../support/metrics.js';
import { charge, newKey, validCharge } from '../support/payments-client.js';
import { describeWithRedisBinary } from '../support/redis.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { waitFor } from '../support/wait-for.js';
import { expectProblem } from '../support/problem.js';

const get = (worker: ServiceProcess, path: string) => fetch(`${worker.baseUrl}${path}`);

/** A charge through the service (which runs no worker of its own) for a customer of its own; the worker must relay and consume its event. */
async function chargeAndExpectConsumed(service: TestApp, amount: number): Promise<void> {
  const customerId = `cus_${newKey().slice(-12)}`;
  const paid = await charge(service.baseUrl, newKey('worker'), validCharge({ customerId, amount })).expect(201);
  await waitUntilAllConsumed(service.database);
  expect(await balanceOf(service.baseUrl, customerId)).toEqual([{ currency: 'EUR', amount, payments: 1 }]);
  const receipt = await request(service.baseUrl).get(`/api/orders/${paid.body.orderId}/receipt`).expect(200);
  expect(receipt.body).toMatchObject({ chargeId: paid.body.id, amount });
}

/** `npm run worker` as operators run it: its own process with /health, /health/ready and /metrics on WORKER_PORT. */
describeWithRedisBinary('the standalone events worker', () => {
  let redis: RedisServer;
  let service: TestApp;
  let worker: ServiceProcess;

  beforeAll(async () => {
    redis = await RedisServer.start();
    service = await startTestApp(redis.url, { EVENTS_WORKER: 'false', WEBHOOK_DELIVERY: 'false' });
    worker = await ServiceProcess.start(
      { REDIS_URL: redis.url, DATABASE_URL: await fileDatabaseUrl(), BROKER_URL: await fileBrokerUrl() },
      { entry: 'dist/worker.js' },
    );
  });

  afterAll(async () => {
    await worker?.stop();
    await service?.close();
    await redis?.stop();
  });

  const droppedDuplicates = async () => sample(await (await get(worker, '/metrics')).text(), 'payments_events_duplicates_dropped_total', { source: 'broker' });

  it("relays the service's events from the outbox and consumes them into the projections", async () => {
    await chargeAndExpectConsumed(service, 1234);
  });

  it('counts in its /metrics the duplicates it took without effect', async () => {
    const metrics = await get(worker, '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toContain('text/plain');
    expect(await metrics.text()).toMatch(/^process_cpu_user_seconds_total \d/m);
    const customerId = `cus_${newKey().slice(-12)}`;
    const paid = await charge(service.baseUrl, newKey('worker-dup'), validCharge({ customerId, amount: 500 })).expect(201);
    await waitUntilAllConsumed(service.database);
    const before = await droppedDuplicates();
    // Its event published again, as after a relay's commit whose answer was lost: delivered again, dropped, no effect.
    const { rowCount } = await service.database.query("UPDATE payment_events SET published_at = NULL WHERE data->>'orderId' = $1", [paid.body.orderId]);
    expect(rowCount).toBe(1);
    await waitUntilAllConsumed(service.database);
    await waitFor('the worker drops the delivery again', async () => (await droppedDuplicates()) >= before + 1);
    expect(await droppedDuplicates()).toBe(before + 1);
    expect(await balanceOf(service.baseUrl, customerId)).toEqual([{ currency: 'EUR', amount: 500, payments: 1 }]);
  });

  it('is live and ready while Redis answers; not ready, still live, while it does not; ready again once it is back', async () => {
    expect((await get(worker, '/health')).status).toBe(200);
    expect((await get(worker, '/health/ready')).status).toBe(200);
    expectProblem(await request(worker.baseUrl).get('/nothing'), 404);

    await redis.crash();
    try {
      expectProblem(await request(worker.baseUrl).get('/health/ready'), 503, 'NOT_READY');
      expect((await get(worker, '/health')).status).toBe(200);
    } finally {
      await redis.restart();
    }
    await waitFor('the worker to be ready again', async () => (await get(worker, '/health/ready')).status === 200);
    await chargeAndExpectConsumed(service, 77);
  });
});

/** The same worker on a Redis Cluster: nothing in it needs a standalone Redis any more. */
describeWithRedisBinary('the standalone events worker on a Redis Cluster', () => {
  let cluster: RedisCluster;
  let service: TestApp;
  let worker: ServiceProcess;

  beforeAll(async () => {
    cluster = await RedisCluster.start();
    const env = { REDIS_CLUSTER_NODES: cluster.urls.join(',') };
    service = await startTestApp(cluster.urls[0]!, { ...env, EVENTS_WORKER: 'false', WEBHOOK_DELIVERY: 'false' });
    worker = await ServiceProcess.start({ ...env, DATABASE_URL: await fileDatabaseUrl(), BROKER_URL: await fileBrokerUrl() }, { entry: 'dist/worker.js' });
  });

  afterAll(async () => {
    await worker?.stop();
    await service?.close();
    await cluster?.stop();
  });

  it("is ready, and relays and consumes the service's events", async () => {
    const ready = await request(worker.baseUrl).get('/health/ready').expect(200);
    expect(ready.body).toMatchObject({ status: 'ok', details: { redis: { status: 'up' }, database: { status: 'up' } } });
    await chargeAndExpectConsumed(service, 4321);
  });
});
