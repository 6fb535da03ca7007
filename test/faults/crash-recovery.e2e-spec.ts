import { afterAll, afterEach, beforeAll, expect, it } from '@jest/globals';
import request from 'supertest';
import { RedisServer, ServiceProcess } from '../../tools/process/index.js';
import { fileDatabaseUrl } from '../support/database.js';
import { fileBrokerUrl } from '../support/broker.js';
import { describeWithRedisBinary } from '../support/redis.js';
import { charge, ledgerCount, newKey, setBehavior } from '../support/payments-client.js';
import { waitFor } from '../support/wait-for.js';

// Long enough to outlast a restart of the service, so the test can see the dead holder's lock still blocking.
const LOCK_TTL_MS = 8000;

interface LedgerCharge {
  id: string;
  orderId: string;
}

async function ledger(baseUrl: string, key: string): Promise<LedgerCharge[]> {
  const response = await request(baseUrl).get('/api/admin/provider/charges').query({ idempotencyKey: key }).expect(200);
  return response.body.charges as LedgerCharge[];
}

async function ordersFor(baseUrl: string, key: string): Promise<Array<{ id: string; status: string }>> {
  const response = await request(baseUrl).get('/api/orders').query({ idempotencyKey: key }).expect(200);
  return response.body.data as Array<{ id: string; status: string }>;
}

/** Retries as a client does while the dead holder's lock blocks the key (409), and returns the first other answer. */
async function retryUntilUnlocked(baseUrl: string, key: string): Promise<request.Response> {
  let response: request.Response | undefined;
  await waitFor(
    "the dead holder's lock has expired",
    async () => {
      response = await charge(baseUrl, key);
      return response.status !== 409;
    },
    LOCK_TTL_MS + 5000,
  );
  return response!;
}

/**
 * The service process is killed with SIGKILL mid-charge, restarted, and the client retries with
 * the same key after the lock TTL: the retry must finish the same order with the same charge.
 */
describeWithRedisBinary('a service crash in the middle of a charge', () => {
  let redis: RedisServer;
  let service: ServiceProcess;

  beforeAll(async () => {
    redis = await RedisServer.start();
    service = await ServiceProcess.start({
      REDIS_URL: redis.url,
      DATABASE_URL: await fileDatabaseUrl(),
      BROKER_URL: await fileBrokerUrl(),
      IDEMPOTENCY_LOCK_TTL_MS: String(LOCK_TTL_MS),
    });
  });

  afterEach(async () => {
    await setBehavior(service.baseUrl, { minDelayMs: 0, maxDelayMs: 0, preChargeDelayMs: 0 });
  });

  afterAll(async () => {
    await service?.crash();
    await redis?.stop();
  });

  it('after the gateway charged but before the outcome was stored: the retry answers the original charge', async () => {
    // The gateway records the charge, then waits out its latency: the response is "lost".
    await setBehavior(service.baseUrl, { minDelayMs: 5000, maxDelayMs: 5000 });
    const key = newKey('crash-after-charge');
    const lost = charge(service.baseUrl, key).then(
      () => 'answered',
      () => 'connection lost',
    );
    await waitFor('the gateway has recorded the charge', async () => (await ledgerCount(service.baseUrl, key)) === 1);
    await service.crash();
    expect(await lost).toBe('connection lost');

    await service.restart();
    await setBehavior(service.baseUrl, { minDelayMs: 0, maxDelayMs: 0 });
    // The dead holder's lock still blocks the key until its TTL runs out.
    expect((await charge(service.baseUrl, key)).status).toBe(409);
    const retry = await retryUntilUnlocked(service.baseUrl, key);
    const [original] = await ledger(service.baseUrl, key);
    expect(retry.status).toBe(201);
    expect(retry.headers['idempotency-cached']).toBe('false');
    expect(retry.body.id).toBe(original!.id);
    expect(retry.body.orderId).toBe(original!.orderId);
    expect(await ledgerCount(service.baseUrl, key)).toBe(1);
    const [order] = await ordersFor(service.baseUrl, key);
    expect(order).toMatchObject({ id: original!.orderId, status: 'PAID' });
    // And from now on it replays.
    const replay = await charge(service.baseUrl, key);
    expect(replay.headers['idempotency-cached']).toBe('true');
    expect(replay.text).toBe(retry.text);
  });

  it('after the order was created but before the gateway was called: the retry completes the same order once', async () => {
    await setBehavior(service.baseUrl, { preChargeDelayMs: 5000 });
    const key = newKey('crash-before-charge');
    const lost = charge(service.baseUrl, key).then(
      () => 'answered',
      () => 'connection lost',
    );
    await waitFor('the order exists', async () => (await ordersFor(service.baseUrl, key)).length === 1);
    const [created] = await ordersFor(service.baseUrl, key);
    await service.crash();
    expect(await lost).toBe('connection lost');

    await service.restart();
    await setBehavior(service.baseUrl, { preChargeDelayMs: 0 });
    expect(await ledgerCount(service.baseUrl, key)).toBe(0);
    expect(created!.status).toBe('CREATED');
    expect((await charge(service.baseUrl, key)).status).toBe(409);
    const retry = await retryUntilUnlocked(service.baseUrl, key);
    expect(retry.status).toBe(201);
    expect(retry.body.orderId).toBe(created!.id);
    const orders = await ordersFor(service.baseUrl, key);
    expect(orders).toEqual([expect.objectContaining({ id: created!.id, status: 'PAID' })]);
    expect(await ledgerCount(service.baseUrl, key)).toBe(1);
  });
});
