import { afterAll, beforeAll, expect, it } from '@jest/globals';
import request from 'supertest';
import { RedisServer, ServiceProcess } from '../../tools/process/index.js';
import { describeWithRedisBinary } from '../support/redis.js';
import { fileDatabaseUrl } from '../support/database.js';
import { fileBrokerUrl } from '../support/broker.js';
import { balanceOf, outboxEntries, waitUntilAllPublished } from '../support/events-client.js';
import { charge, newKey, validCharge } from '../support/payments-client.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { waitFor } from '../support/wait-for.js';

/** The window between applying a batch and committing it that the worker is killed in. */
const ACK_DELAY_MS = 2500;

/**
 * The events worker runs as its own process (dist/worker.js) and is killed with SIGKILL after it
 * applied a batch of events but before it committed it; the service (in-process, no worker of its
 * own) keeps charging. The batch's transaction rolls back with the dead connection: a restarted
 * worker takes the events again and the projections change exactly once.
 */
describeWithRedisBinary('an events worker killed between applying a batch and committing it', () => {
  let redis: RedisServer;
  let service: TestApp;
  let worker: ServiceProcess;

  /** Unpublished events that no transaction holds: a worker's batch holds its rows locked until it commits. */
  const unpublishedAndFree = async () =>
    (await service.database.query('SELECT id FROM payment_events WHERE published_at IS NULL FOR UPDATE SKIP LOCKED')).rowCount;
  const unpublished = async () => (await outboxEntries(service.database)).filter((entry) => entry.publishedAt === null).length;

  beforeAll(async () => {
    redis = await RedisServer.start();
    service = await startTestApp(redis.url, { EVENTS_WORKER: 'false', WEBHOOK_DELIVERY: 'false' });
    worker = await ServiceProcess.start(
      { REDIS_URL: redis.url, DATABASE_URL: await fileDatabaseUrl(), BROKER_URL: await fileBrokerUrl(), EVENTS_ACK_DELAY_MS: String(ACK_DELAY_MS) },
      { entry: 'dist/worker.js' },
    );
  });

  afterAll(async () => {
    await worker?.crash();
    await service?.close();
    await redis?.stop();
  });

  it('takes the batch again after the crash and changes the projections exactly once (count and sum)', async () => {
    const customerId = 'cus_crash_1';
    // Three events written while no worker runs, so the restarted worker takes them in one batch.
    await worker.crash();
    const paid = [];
    for (const amount of [1000, 200, 30])
      paid.push((await charge(service.baseUrl, newKey('worker-crash'), validCharge({ customerId, amount })).expect(201)).body);
    expect(await unpublished()).toBe(3);

    await worker.restart();
    // Applied, not yet committed: inside the window the worker holds the three rows locked.
    await waitFor('the worker holds the batch', async () => (await unpublished()) === 3 && (await unpublishedAndFree()) === 0);
    expect(await balanceOf(service.baseUrl, customerId)).toEqual([]);
    await worker.crash();

    // The dead worker's transaction rolled back: nothing applied, nothing published, the rows free again.
    await waitFor('the batch is free again', async () => (await unpublishedAndFree()) === 3);
    expect(await balanceOf(service.baseUrl, customerId)).toEqual([]);

    await worker.restart();
    await waitUntilAllPublished(service.database);
    expect(await balanceOf(service.baseUrl, customerId)).toEqual([{ currency: 'EUR', amount: 1230, payments: 3 }]);
    for (const { id, orderId, amount } of paid) {
      const receipt = await request(service.baseUrl).get(`/api/orders/${orderId}/receipt`).expect(200);
      expect(receipt.body).toMatchObject({ chargeId: id, amount });
    }
  });

  it('loses no event written while no worker runs: the next worker publishes it', async () => {
    const customerId = 'cus_crash_2';
    await worker.crash();
    await charge(service.baseUrl, newKey('while-down'), validCharge({ customerId, amount: 300 })).expect(201);
    await charge(service.baseUrl, newKey('while-down'), validCharge({ customerId, amount: 45 })).expect(201);
    expect(await balanceOf(service.baseUrl, customerId)).toEqual([]);

    await worker.restart();
    await waitUntilAllPublished(service.database);
    expect(await balanceOf(service.baseUrl, customerId)).toEqual([{ currency: 'EUR', amount: 345, payments: 2 }]);
  });
});
