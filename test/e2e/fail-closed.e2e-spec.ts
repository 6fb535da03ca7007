import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { RedisServer, runToExit, ServiceProcess } from '../harness/index.js';
import { describeWithRedisBinary } from '../support/redis.js';
import { charge, newKey } from '../support/payments-client.js';
import { fileDatabaseUrl } from '../support/database.js';
import { fileBrokerUrl } from '../support/broker.js';
import { useTestApp } from '../support/test-app.js';

const API_KEY = 'sk_test_fail_closed_0123456789';
const NOT_FOUND = { status: 404, code: 'NOT_FOUND' };

/** docs/promises.md, "Defaults": a deploy that forgets NODE_ENV runs as in production, never as the open demo. */
describe('the built service without NODE_ENV', () => {
  it('refuses to start without API_KEYS', async () => {
    const run = await runToExit(process.execPath, ['dist/main.js'], { timeoutMs: 15_000 });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('API_KEYS must be set in production');
  });

  describeWithRedisBinary('with API_KEYS only', () => {
    let redis: RedisServer;
    let service: ServiceProcess;

    beforeAll(async () => {
      redis = await RedisServer.start();
      service = await ServiceProcess.start({
        NODE_ENV: undefined,
        LOG_LEVEL: 'log',
        REDIS_URL: redis.url,
        DATABASE_URL: await fileDatabaseUrl(),
        BROKER_URL: await fileBrokerUrl(),
        API_KEYS: `merchantA:${API_KEY}`,
      });
    });

    afterAll(async () => {
      await service?.crash();
      await redis?.stop();
    });

    it('says in its first log line that it runs as in production', () => {
      expect(service.logs.split('\n')[0]).toContain('NODE_ENV is not set: running as in production');
    });

    it('needs an API key on merchant routes, and charges with one', async () => {
      const anonymous = await charge(service.baseUrl, newKey('anonymous'));
      expect(anonymous.status).toBe(401);
      expect(anonymous.body.code).toBe('UNAUTHENTICATED');
      const orders = await request(service.baseUrl).get('/api/orders');
      expect(orders.status).toBe(401);
      expect((await charge(service.baseUrl, newKey('merchant'), undefined, { Authorization: `Bearer ${API_KEY}` })).status).toBe(201);
    });

    it('keeps the admin routes closed without ADMIN_TOKEN, even for a merchant', async () => {
      for (const call of [
        request(service.baseUrl).get('/api/admin/provider/charges'),
        request(service.baseUrl).put('/api/admin/payment-behavior').send({ failureRate: 0 }),
        request(service.baseUrl).get('/api/admin/payment-behavior').set('Authorization', `Bearer ${API_KEY}`),
      ]) {
        expect(await call).toMatchObject({ status: 404, body: NOT_FOUND });
      }
    });

    it('turns the webhook route off without WEBHOOK_SECRET: the development key signs nothing', async () => {
      const response = await request(service.baseUrl).post('/api/webhooks/gateway').set('Gateway-Signature', 't=1,v1=00').send({ id: 'evt_x' });
      expect(response).toMatchObject({ status: 404, body: NOT_FOUND });
    });

    it('serves neither the playground nor Swagger UI nor the OpenAPI document', async () => {
      for (const path of ['/', '/index.html', '/app.js', '/docs', '/docs/openapi.json']) {
        const response = await request(service.baseUrl).get(path);
        expect({ path, status: response.status }).toEqual({ path, status: 404 });
        expect(response.headers['content-type']).toContain('application/problem+json');
      }
    });
  });
});

describe('production with the playground and Swagger UI asked for', () => {
  const service = useTestApp({ NODE_ENV: 'production', API_KEYS: `merchantA:${API_KEY}`, PLAYGROUND: 'true', API_DOCS: 'true' });

  it('serves them', async () => {
    expect((await request(service.baseUrl).get('/')).headers['content-type']).toContain('text/html');
    expect((await request(service.baseUrl).get('/docs/openapi.json')).body.openapi).toMatch(/^3\./);
  });
});
