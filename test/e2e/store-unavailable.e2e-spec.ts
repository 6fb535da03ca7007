import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import { charge, ledgerCount, newKey } from '../support/payments-client.js';
import { RedisServer, hasRedisServerBinary } from '../../scripts/lib/redis-server.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const describeWithRedisBinary = hasRedisServerBinary ? describe : describe.skip;

async function waitUntilReady(baseUrl: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await request(baseUrl).get('/health/ready')).status === 200) return;
    await sleep(100);
  }
  throw new Error('the service did not become ready again');
}

describeWithRedisBinary('Redis unreachable', () => {
  let redis: RedisServer;
  let service: TestApp;

  beforeAll(async () => {
    // AOF on, so what was stored before the outage is still there after it.
    redis = await RedisServer.start({ appendOnly: true });
    service = await startTestApp(redis.url, { REDIS_COMMAND_TIMEOUT_MS: '500' });
  });

  afterAll(async () => {
    await service?.close();
    await redis?.stop();
  });

  it('fails closed with 503 IDEMPOTENCY_STORE_UNAVAILABLE, charges nothing, and recovers without a restart', async () => {
    const storedKey = newKey('before-outage');
    const first = await charge(service.baseUrl, storedKey).expect(201);

    await redis.crash();
    const outageKey = newKey('during-outage');
    const started = Date.now();
    const refused = await charge(service.baseUrl, outageKey);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(refused.status).toBe(503);
    expect(refused.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    expect(refused.body).toMatchObject({ status: 503, code: 'IDEMPOTENCY_STORE_UNAVAILABLE' });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    // A replay cannot be read either: refused the same way rather than run again.
    expect((await charge(service.baseUrl, storedKey)).status).toBe(503);
    expect((await request(service.baseUrl).get('/health/ready')).status).toBe(503);

    await redis.restart();
    await waitUntilReady(service.baseUrl, 10_000);
    // The ledger survived the outage (AOF): the earlier charge is there, and none for the refused key.
    expect(await ledgerCount(service.baseUrl, storedKey)).toBe(1);
    expect(await ledgerCount(service.baseUrl, outageKey)).toBe(0);

    const replay = await charge(service.baseUrl, storedKey);
    expect(replay.status).toBe(201);
    expect(replay.headers['idempotency-cached']).toBe('true');
    expect(replay.text).toBe(first.text);

    // The refused key was left free: it runs now.
    const retried = await charge(service.baseUrl, outageKey);
    expect(retried.status).toBe(201);
    expect(retried.headers['idempotency-cached']).toBe('false');
    expect(await ledgerCount(service.baseUrl, outageKey)).toBe(1);
  });
});
