import { afterAll, beforeAll, expect, it } from '@jest/globals';
import request from 'supertest';
import { RedisServer, ServiceProcess } from '../../tools/process/index.js';
import { describeWithRedisBinary } from '../support/redis.js';
import { balanceOf, pendingEntries, waitUntilAllConsumed } from '../support/events-client.js';
import { charge, newKey, validCharge } from '../support/payments-client.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { waitFor } from '../support/wait-for.js';

/** The window between effect and acknowledgement the worker is killed in. */
const ACK_DELAY_MS = 2500;
const CLAIM_MIN_IDLE_MS = 300;

/**
 * The events worker runs as its own process (dist/worker.js) and is killed with SIGKILL after it
 * applied an event but before it acknowledged it; the service (in-process, no worker of its own)
 * keeps charging. A restarted worker must reclaim the entry and keep the effect single.
 */
describeWithRedisBinary('an events worker killed between effect and acknowledgement', () => {
  let redis: RedisServer;
  let service: TestApp;
  let worker: ServiceProcess;

  /** The worker's consumer name, from its start-up line (it names itself after its pid); undefined until it runs. */
  const consumerOf = (process: ServiceProcess): string | undefined => new RegExp(`as ([\\w.-]+-${process.pid}-[0-9a-f]{6})"`).exec(process.logs)?.[1];

  beforeAll(async () => {
    redis = await RedisServer.start();
    service = await startTestApp(redis.url, { EVENTS_WORKER: 'false', WEBHOOK_DELIVERY: 'false' });
    worker = await ServiceProcess.start(
      { REDIS_URL: redis.url, LOG_LEVEL: 'log', EVENTS_ACK_DELAY_MS: String(ACK_DELAY_MS), EVENTS_CLAIM_MIN_IDLE_MS: String(CLAIM_MIN_IDLE_MS) },
      { entry: 'dist/worker.js', isReady: async (started) => consumerOf(started) !== undefined },
    );
  });

  afterAll(async () => {
    await worker?.crash();
    await service?.close();
    await redis?.stop();
  });

  it('redelivers the entry to the restarted worker, which acknowledges it without applying it again', async () => {
    const customerId = 'cus_crash_1';
    const paid = await charge(service.baseUrl, newKey('worker-crash'), validCharge({ customerId, amount: 1999 })).expect(201);

    // Applied, not yet acknowledged: inside the window.
    await waitFor('the balance shows the payment', async () => (await balanceOf(service.baseUrl, customerId)).length === 1);
    const [pendingBefore] = await pendingEntries(service.redis);
    expect(pendingBefore).toEqual([expect.any(String), consumerOf(worker), expect.any(Number), 1]);
    await worker.crash();
    expect(await pendingEntries(service.redis)).toHaveLength(1);

    await worker.restart();
    const restarted = consumerOf(worker);
    await waitFor('the restarted worker has reclaimed the entry', async () => (await pendingEntries(service.redis))[0]?.[1] === restarted);
    const [reclaimed] = await pendingEntries(service.redis);
    expect(reclaimed).toEqual([pendingBefore![0], restarted, expect.any(Number), 2]);
    await waitUntilAllConsumed(service.redis);

    expect(await balanceOf(service.baseUrl, customerId)).toEqual([{ currency: 'EUR', amount: 1999, payments: 1 }]);
    const receipt = await request(service.baseUrl).get(`/api/orders/${paid.body.orderId}/receipt`).expect(200);
    expect(receipt.body).toMatchObject({ chargeId: paid.body.id, amount: 1999 });
  });

  it('loses no event written while no worker runs: the next worker consumes it', async () => {
    const customerId = 'cus_crash_2';
    await worker.crash();
    await charge(service.baseUrl, newKey('while-down'), validCharge({ customerId, amount: 300 })).expect(201);
    await charge(service.baseUrl, newKey('while-down'), validCharge({ customerId, amount: 45 })).expect(201);
    expect(await balanceOf(service.baseUrl, customerId)).toEqual([]);

    await worker.restart();
    await waitUntilAllConsumed(service.redis);
    expect(await balanceOf(service.baseUrl, customerId)).toEqual([{ currency: 'EUR', amount: 345, payments: 2 }]);
  });
});
