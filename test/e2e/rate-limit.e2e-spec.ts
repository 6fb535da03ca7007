import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { charge, newKey, validCharge } from '../support/payments-client.js';
import { expectProblem } from '../support/problem.js';
import { startRedis } from '../support/redis.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const KEY_A = 'sk_test_merchant_a_0123456789';
const KEY_B = 'sk_test_merchant_b_9876543210';
const LIMIT = 5;

/**
 * @nestjs/throttler is CommonJS and requires the ESM-only @nestjs/common: jest's module runtime
 * supports that (require(esm)) from Node 24.9 on, not on Node 20, where this file is skipped
 * (.ci/run runs the suite on both).
 */
const throttlerLoads = await import('@nestjs/throttler').then(
  () => true,
  () => false,
);
if (!throttlerLoads) console.warn(`The rate-limit tests are skipped: jest on Node ${process.versions.node} cannot load @nestjs/throttler (Node 24.9+ can).`);
const describeWhereThrottlerLoads = throttlerLoads ? describe : describe.skip;

describeWhereThrottlerLoads('per-merchant rate limit (@nestjs/throttler, counted in Redis)', () => {
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let instances: TestApp[];

  beforeAll(async () => {
    redis = await startRedis();
    const env = { API_KEYS: `merchantA:${KEY_A},merchantB:${KEY_B}`, RATE_LIMIT_MAX: String(LIMIT), RATE_LIMIT_WINDOW_SECONDS: '60' };
    instances = await Promise.all([startTestApp(redis.url, env), startTestApp(redis.url, env)]);
  });

  afterAll(async () => {
    await Promise.all((instances ?? []).map((instance) => instance.close()));
    await redis?.stop();
  });

  it('answers 429 with Retry-After past the limit, for that merchant only, counted across instances, without taking the key', async () => {
    const [one, two] = instances;
    for (let index = 0; index < LIMIT; index++) {
      const instance = index % 2 === 0 ? one! : two!;
      const response = await request(instance.baseUrl).get('/api/orders').set('Authorization', `Bearer ${KEY_A}`);
      expect(response.status).toBe(200);
      expect(response.headers['x-ratelimit-remaining']).toBe(String(LIMIT - index - 1));
    }
    const key = newKey('limited');
    const limited = await charge(one!.baseUrl, key, validCharge(), { Authorization: `Bearer ${KEY_A}` });
    expectProblem(limited, 429, 'RATE_LIMITED');
    expect(limited.headers['idempotency-cached']).toBe('false');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    // Nothing of the limited request was kept: no idempotency record, so the key is still free.
    expect(await one!.redis.keys('idempotency:*')).toEqual([]);
    // Merchant B has its own budget, and health is never limited.
    await charge(two!.baseUrl, key, validCharge(), { Authorization: `Bearer ${KEY_B}` }).expect(201);
    await request(one!.baseUrl).get('/health').expect(200);
  });
});
