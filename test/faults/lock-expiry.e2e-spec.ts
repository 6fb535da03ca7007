import { afterAll, beforeAll, beforeEach, expect, it } from '@jest/globals';
import { fingerprintOf, toIdempotencyContext } from '@idempotent-payments/nestjs-idempotency';
import { recordKeys } from '@idempotent-payments/nestjs-idempotency/redis';
import request from 'supertest';
import { RedisServer } from '../harness/index.js';
import { describeWithRedisBinary } from '../support/redis.js';
import { CHARGE_PATH, charge, expectReplayOf, ledgerCount, newKey, setBehavior, validCharge } from '../support/payments-client.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { waitFor } from '../support/wait-for.js';

const lockKey = (recordId: string) => recordKeys(recordId).lock;
const LOCK_TTL_MS = 600;
const OPERATION_MS = 3 * LOCK_TTL_MS;

const lockOf = (key: string) =>
  lockKey(toIdempotencyContext({ principal: 'anonymous', method: 'POST', route: CHARGE_PATH, key }, fingerprintOf(validCharge())).recordId);

describeWithRedisBinary('an operation that outlives the lock TTL', () => {
  let redis: RedisServer;
  let service: TestApp;

  beforeAll(async () => {
    redis = await RedisServer.start({ appendOnly: true });
    service = await startTestApp(redis.url, { IDEMPOTENCY_LOCK_TTL_MS: String(LOCK_TTL_MS), REDIS_COMMAND_TIMEOUT_MS: '300' });
  });

  // Each test starts with an operation that outlives the lock (a test may turn the delay off at its end).
  beforeEach(() => setBehavior(service.baseUrl, { minDelayMs: OPERATION_MS, maxDelayMs: OPERATION_MS }));

  afterAll(async () => {
    await service?.close();
    await redis?.stop();
  });

  it('keeps the lock alive (extended), so duplicates all along get 409 and the charge runs once', async () => {
    const key = newKey('long');
    // Supertest sends on then(): start each request now, not when it is awaited.
    const first = charge(service.baseUrl, key).then((response) => response);
    await waitFor('the first request holds the lock', async () => (await service.redis.exists(lockOf(key))) === 1);
    const duplicates: Array<Promise<request.Response>> = [];
    const lockTtls: number[] = [];
    // A duplicate after each extension (its remaining TTL went up), until four: the lock, extended every third of its TTL, has outlived it.
    let extensions = 0;
    await waitFor('the lock was extended four times', async () => {
      const ttl = await service.redis.pttl(lockOf(key));
      if (lockTtls.length > 0 && ttl > lockTtls.at(-1)!) {
        extensions++;
        duplicates.push(charge(service.baseUrl, key).then((response) => response));
      }
      lockTtls.push(ttl);
      return extensions >= 4;
    });
    const [firstResponse, ...duplicateResponses] = await Promise.all([first, ...duplicates]);
    expect(firstResponse!.status).toBe(201);
    expect(duplicateResponses.map((response) => response.status)).toEqual([409, 409, 409, 409]);
    // Past its TTL, the lock was there all along: it was extended, not re-acquired by a duplicate.
    expect(lockTtls.filter((ttl) => ttl <= 0)).toEqual([]);
    expect(await ledgerCount(service.baseUrl, key)).toBe(1);
    // Released once the outcome was stored.
    expect(await service.redis.exists(lockOf(key))).toBe(0);
  });

  it('when Redis dies mid-operation, the charge is still stored (in PostgreSQL): the answer is the one charge and the retry replays it', async () => {
    const key = newKey('redis-dies');
    const pending = charge(service.baseUrl, key).then((response) => response);
    await waitFor('the gateway has recorded the charge', async () => (await ledgerCount(service.baseUrl, key)) === 1);
    await redis.crash();

    // The lock's extension fails in Redis, but the lock is also held in PostgreSQL, where the outcome is stored before it is sent.
    const answered = await pending;
    const ledger = await request(service.baseUrl).get('/api/admin/provider/charges').query({ idempotencyKey: key }).expect(200);
    expect(answered.status).toBe(201);
    expect(ledger.body.charges).toHaveLength(1);
    expect(answered.body.id).toBe(ledger.body.charges[0].id);

    await redis.restart();
    await waitFor('the service reaches Redis again', async () => (await request(service.baseUrl).get('/health/ready')).status === 200);
    await setBehavior(service.baseUrl, { minDelayMs: 0, maxDelayMs: 0 });
    await expectReplayOf(service.baseUrl, key, answered);
  });
});
