import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import request from 'supertest';
import { newPaymentEvent, PAYMENTS_STREAM, toStreamFields } from '../../src/events/payment-event.js';
import { RedisServer, ServiceProcess } from '../../tools/process/index.js';
import { describeWithRedisBinary } from '../support/redis.js';
import { waitFor } from '../support/wait-for.js';
import { expectProblem } from '../support/problem.js';

/** `npm run worker` as operators run it: its own process with /health, /health/ready and /metrics on WORKER_PORT. */
describeWithRedisBinary('the standalone events worker', () => {
  let redis: RedisServer;
  let client: Redis;
  let worker: ServiceProcess;

  beforeAll(async () => {
    redis = await RedisServer.start();
    client = new Redis(redis.url);
    worker = await ServiceProcess.start({ REDIS_URL: redis.url }, { entry: 'dist/worker.js' });
  });

  afterAll(async () => {
    await worker?.stop();
    client?.disconnect();
    await redis?.stop();
  });

  const get = (path: string) => fetch(`${worker.baseUrl}${path}`);
  const droppedDuplicates = async () =>
    Number(/^payments_events_duplicates_dropped_total\{source="stream"\} (\d+)$/m.exec(await (await get('/metrics')).text())?.[1] ?? 0);

  it('counts in its /metrics the duplicates it consumed without effect', async () => {
    const metrics = await get('/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toContain('text/plain');
    expect(await metrics.text()).toMatch(/^process_cpu_user_seconds_total \d/m);
    const before = await droppedDuplicates();
    // One event delivered twice, as a producer retrying its XADD would: applied once, then dropped.
    const event = newPaymentEvent('payment.succeeded', new Date().toISOString(), {
      orderId: 'ord_0123456789abcdef01234567',
      owner: 'anonymous',
      customerId: 'cus_worker',
      amount: 500,
      currency: 'EUR',
      chargeId: 'ch_worker',
    });
    await client.xadd(PAYMENTS_STREAM, '*', ...toStreamFields(event));
    await client.xadd(PAYMENTS_STREAM, '*', ...toStreamFields(event));
    await waitFor('the duplicate to be counted', async () => (await droppedDuplicates()) === before + 1);
  });

  it('is live and ready while Redis answers; not ready, still live, while it does not; ready again once it is back', async () => {
    expect((await get('/health')).status).toBe(200);
    expect((await get('/health/ready')).status).toBe(200);
    expectProblem(await request(worker.baseUrl).get('/nothing'), 404);

    await redis.crash();
    try {
      expectProblem(await request(worker.baseUrl).get('/health/ready'), 503, 'NOT_READY');
      expect((await get('/health')).status).toBe(200);
    } finally {
      await redis.restart();
    }
    await waitFor('the worker to be ready again', async () => (await get('/health/ready')).status === 200);
  });
});
