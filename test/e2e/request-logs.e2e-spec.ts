import { afterAll, beforeAll, expect, it } from '@jest/globals';
import request from 'supertest';
import { RedisServer, ServiceProcess } from '../../tools/process/index.js';
import { describeWithRedisBinary } from '../support/redis.js';
import { charge, newKey, validCharge } from '../support/payments-client.js';
import { fileDatabaseUrl } from '../support/database.js';
import { fileBrokerUrl } from '../support/broker.js';

interface RequestLine {
  msg: string;
  req: { id: string; method: string };
  res: { status: number };
  route: string;
  responseTime: number;
  idempotency?: string;
}

/** The built service logs one JSON line per request; the test reads them from its output. */
describeWithRedisBinary('request logs (nestjs-pino)', () => {
  let redis: RedisServer;
  let service: ServiceProcess;

  beforeAll(async () => {
    redis = await RedisServer.start();
    service = await ServiceProcess.start({ REDIS_URL: redis.url, DATABASE_URL: await fileDatabaseUrl(), BROKER_URL: await fileBrokerUrl(), LOG_LEVEL: 'log' });
  });

  afterAll(async () => {
    await service?.crash();
    await redis?.stop();
  });

  const lineFor = (requestId: string): RequestLine | undefined =>
    service.logs
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as RequestLine)
      .find((line) => line.msg === 'request completed' && line.req?.id === requestId);

  it('writes one JSON line per request with method, route, status, duration, request id and idempotency outcome', async () => {
    const key = newKey('logged');
    const first = await charge(service.baseUrl, key, validCharge(), { 'X-Request-Id': 'checkout-42.first' });
    const replay = await charge(service.baseUrl, key, validCharge(), { 'X-Request-Id': 'checkout-42.retry' });
    const mismatch = await charge(service.baseUrl, key, validCharge({ amount: 1 }), { 'X-Request-Id': 'checkout-42.other' });
    expect(first.headers['x-request-id']).toBe('checkout-42.first');
    expect(replay.headers['x-request-id']).toBe('checkout-42.retry');
    await new Promise((resolve) => setTimeout(resolve, 200));

    expect(lineFor('checkout-42.first')).toMatchObject({
      req: { method: 'POST' },
      res: { status: 201 },
      route: '/api/payments/charge',
      responseTime: expect.any(Number),
      idempotency: 'fresh',
    });
    expect(lineFor('checkout-42.retry')).toMatchObject({ res: { status: 201 }, idempotency: 'replay' });
    expect(lineFor(mismatch.headers['x-request-id']!)).toMatchObject({ res: { status: 422 }, idempotency: 'mismatch' });
  });

  it('generates a request id when none (or an unusable one) is sent, and echoes it', async () => {
    const generated = await request(service.baseUrl).get('/api/orders');
    const replaced = await request(service.baseUrl).get('/api/orders').set('X-Request-Id', 'has spaces and "quotes"');
    for (const response of [generated, replaced]) {
      expect(response.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(lineFor(generated.headers['x-request-id']!)).toMatchObject({ route: '/api/orders', res: { status: 200 } });
    expect(service.logs).not.toContain('has spaces');
  });
});
