import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { newPaymentEvent, PAYMENTS_STREAM, toStreamFields } from '../../src/events/payment-event.js';
import { hasRedisServerBinary, RedisServer, ServiceProcess } from '../../tools/process/index.js';
import { waitFor } from '../support/wait-for.js';

const describeWithRedisBinary = hasRedisServerBinary ? describe : describe.skip;

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
    Number(/^events_duplicates_dropped_total\{source="stream"\} (\d+)$/m.exec(await (await get('/metrics')).text())?.[1] ?? 0);

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

  it('is live and ready while Redis answers; not ready, still live, while it does not', async () => {
    expect((await get('/health')).status).toBe(200);
    expect((await get('/health/ready')).status).toBe(200);
    const unknown = await get('/nothing');
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');

    await redis.stop();
    const notReady = await get('/health/ready');
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toMatchObject({ status: 503, code: 'NOT_READY' });
    expect((await get('/health')).status).toBe(200);
  });
});
