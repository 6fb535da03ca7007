import { afterAll, beforeAll, expect, it } from '@jest/globals';
import request from 'supertest';
import { RedisServer, ServiceProcess } from '../../tools/process/index.js';
import { describeWithRedisBinary } from '../support/redis.js';
import { charge, newKey, validCharge } from '../support/payments-client.js';
import { fileDatabaseUrl } from '../support/database.js';
import { fileBrokerUrl } from '../support/broker.js';

const API_KEY = 'sk_live_secret_merchant_key_4242';
const ADMIN_TOKEN = 'admin_secret_token_for_operators_4242';
const WEBHOOK_SECRET = 'whsec_secret_webhook_signing_4242';
const SECRETS = [API_KEY, ADMIN_TOKEN, WEBHOOK_SECRET, 'secret_merchant_key', 'secret_token_for', 'secret_webhook_signing'];

/** The built service at its most verbose: whatever it logs is captured and searched for secrets. */
describeWithRedisBinary('secrets stay secret', () => {
  let redis: RedisServer;
  let service: ServiceProcess;
  const bodies: string[] = [];

  beforeAll(async () => {
    redis = await RedisServer.start();
    service = await ServiceProcess.start({
      REDIS_URL: redis.url,
      DATABASE_URL: await fileDatabaseUrl(),
      BROKER_URL: await fileBrokerUrl(),
      API_KEYS: `merchantA:${API_KEY}`,
      ADMIN_TOKEN,
      WEBHOOK_SECRET,
      LOG_LEVEL: 'verbose',
    });
    const asMerchant = { Authorization: `Bearer ${API_KEY}` };
    const attempts = [
      charge(service.baseUrl, newKey(), validCharge(), asMerchant),
      charge(service.baseUrl, newKey(), validCharge(), { Authorization: `Bearer ${API_KEY}x` }),
      charge(service.baseUrl, newKey(), validCharge(), { Authorization: `Bearer ${API_KEY} trailing` }),
      charge(service.baseUrl, newKey(), validCharge(), { Authorization: `Basic ${API_KEY}` }),
      charge(service.baseUrl, newKey(), { amount: API_KEY, currency: ADMIN_TOKEN, customerId: API_KEY }, asMerchant),
      charge(service.baseUrl, API_KEY, validCharge(), asMerchant),
      request(service.baseUrl).get('/api/admin/payment-behavior').set('X-Admin-Token', ADMIN_TOKEN),
      request(service.baseUrl).get('/api/admin/payment-behavior').set('X-Admin-Token', `${ADMIN_TOKEN}x`),
      request(service.baseUrl).get('/api/admin/payment-behavior').set('Authorization', `Bearer ${API_KEY}`),
      request(service.baseUrl).get(`/api/orders/${API_KEY}`).set(asMerchant),
      request(service.baseUrl).get(`/${ADMIN_TOKEN}`),
      request(service.baseUrl).post('/api/webhooks/gateway').set('Gateway-Signature', `t=1,v1=${WEBHOOK_SECRET}`).send({ id: WEBHOOK_SECRET }),
    ];
    for (const attempt of attempts) bodies.push((await attempt).text);
    // The mock gateway's signed deliveries for the charge above are logged too.
    await new Promise((resolve) => setTimeout(resolve, 300));
    await service.stop();
  });

  afterAll(async () => {
    await service?.crash();
    await redis?.stop();
  });

  it('logs something, and none of it contains an API key, the admin token or the webhook secret', () => {
    expect(service.logs.length).toBeGreaterThan(0);
    expect(service.logs).toContain('"route":"/api/webhooks/gateway"');
    for (const secret of SECRETS) expect(service.logs).not.toContain(secret);
  });

  it('puts no API key, admin token or webhook secret into any response body', () => {
    expect(bodies).toHaveLength(12);
    for (const body of bodies) {
      for (const secret of SECRETS) expect(body).not.toContain(secret);
    }
  });
});
