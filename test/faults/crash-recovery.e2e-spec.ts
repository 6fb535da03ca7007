import { afterAll, afterEach, beforeAll, expect, it } from '@jest/globals';
import { recordKeys } from '@idempotent-payments/nestjs-idempotency/redis';
import { Redis } from 'ioredis';
import request from 'supertest';
import { describeWithRedisBinary } from '../support/redis.js';
import { charge, chargeRecordId, ledgerCount, newKey, setBehavior } from '../support/payments-client.js';
import { useServiceProcess } from '../support/service-process.js';
import { waitFor } from '../support/wait-for.js';

// Short, so that the dead holder's lock soon expires; the tests wait for it to be gone, whatever the restart took.
const LOCK_TTL_MS = 3000;

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

/**
 * The service process is killed with SIGKILL mid-charge, restarted, and the client retries with
 * the same key once the dead holder's lock has expired: the retry must finish the same order with
 * the same charge.
 */
describeWithRedisBinary('a service crash in the middle of a charge', () => {
  const running = useServiceProcess({ IDEMPOTENCY_LOCK_TTL_MS: String(LOCK_TTL_MS) });
  let redis: Redis;

  beforeAll(() => {
    redis = new Redis(running.redis.url);
  });

  afterEach(async () => {
    await setBehavior(running.service.baseUrl, { minDelayMs: 0, maxDelayMs: 0, preChargeDelayMs: 0 });
  });

  afterAll(() => {
    redis?.disconnect();
  });

  /** Kills the service mid-charge and starts it again; the dead holder's lock stays in Redis with its TTL running. */
  async function crashAndRestart(key: string, lost: Promise<string>): Promise<void> {
    await running.service.crash();
    expect(await lost).toBe('connection lost');
    const ttl = await redis.pttl(recordKeys(chargeRecordId(key)).lock);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(LOCK_TTL_MS);
    await running.service.restart();
  }

  /**
   * The client's retry once the dead holder's lock has expired in Redis: retried while it answers 409,
   * for the lock's copy in PostgreSQL, taken a moment after the one in Redis, expires a moment later.
   */
  async function retryAfterTheLockExpired(key: string): Promise<request.Response> {
    const lock = recordKeys(chargeRecordId(key)).lock;
    await waitFor("the dead holder's lock has expired in Redis", async () => (await redis.exists(lock)) === 0, LOCK_TTL_MS + 5000);
    let response: request.Response | undefined;
    await waitFor('the retry gets an answer other than 409', async () => {
      response = await charge(running.service.baseUrl, key);
      return response.status !== 409;
    });
    return response!;
  }

  it('after the gateway charged but before the outcome was stored: the retry answers the original charge', async () => {
    const { service } = running;
    // The gateway records the charge, then waits out its latency: the response is "lost".
    await setBehavior(service.baseUrl, { minDelayMs: 5000, maxDelayMs: 5000 });
    const key = newKey('crash-after-charge');
    const lost = charge(service.baseUrl, key).then(
      () => 'answered',
      () => 'connection lost',
    );
    await waitFor('the gateway has recorded the charge', async () => (await ledgerCount(service.baseUrl, key)) === 1);
    await crashAndRestart(key, lost);

    await setBehavior(service.baseUrl, { minDelayMs: 0, maxDelayMs: 0 });
    const retry = await retryAfterTheLockExpired(key);
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
    const { service } = running;
    await setBehavior(service.baseUrl, { preChargeDelayMs: 5000 });
    const key = newKey('crash-before-charge');
    const lost = charge(service.baseUrl, key).then(
      () => 'answered',
      () => 'connection lost',
    );
    await waitFor('the order exists', async () => (await ordersFor(service.baseUrl, key)).length === 1);
    const [created] = await ordersFor(service.baseUrl, key);
    await crashAndRestart(key, lost);

    await setBehavior(service.baseUrl, { preChargeDelayMs: 0 });
    expect(await ledgerCount(service.baseUrl, key)).toBe(0);
    expect(created!.status).toBe('CREATED');
    const retry = await retryAfterTheLockExpired(key);
    expect(retry.status).toBe(201);
    expect(retry.body.orderId).toBe(created!.id);
    const orders = await ordersFor(service.baseUrl, key);
    expect(orders).toEqual([expect.objectContaining({ id: created!.id, status: 'PAID' })]);
    expect(await ledgerCount(service.baseUrl, key)).toBe(1);
  });
});
