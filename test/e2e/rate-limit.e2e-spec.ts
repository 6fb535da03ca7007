import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import request from 'supertest';
import { RedisServer, ServiceProcess } from '../../tools/process/index.js';
import { describeWithRedisBinary } from '../support/redis.js';
import { charge, newKey, validCharge } from '../support/payments-client.js';
import { expectProblem } from '../support/problem.js';

const KEY_A = 'sk_test_merchant_a_0123456789';
const KEY_B = 'sk_test_merchant_b_9876543210';
const LIMIT = 5;

/** Runs the built service: @nestjs/throttler cannot load in-process under jest (see AppModule). */
describeWithRedisBinary('per-merchant rate limit (@nestjs/throttler, counted in Redis)', () => {
  let redis: RedisServer;
  let instances: ServiceProcess[];

  beforeAll(async () => {
    redis = await RedisServer.start();
    const env = { REDIS_URL: redis.url, API_KEYS: `merchantA:${KEY_A},merchantB:${KEY_B}`, RATE_LIMIT_MAX: String(LIMIT), RATE_LIMIT_WINDOW_SECONDS: '60' };
    instances = await Promise.all([ServiceProcess.start(env), ServiceProcess.start(env)]);
  });

  afterAll(async () => {
    await Promise.all((instances ?? []).map((instance) => instance.crash()));
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
    const client = new Redis(redis.url);
    expect(await client.keys('idempotency:*')).toEqual([]);
    await client.quit();
    // Merchant B has its own budget, and health is never limited.
    await charge(two!.baseUrl, key, validCharge(), { Authorization: `Bearer ${KEY_B}` }).expect(201);
    await request(one!.baseUrl).get('/health').expect(200);
  });
});
