import { beforeAll, expect, it } from '@jest/globals';
import request from 'supertest';
import { GATEWAY_WEBHOOK_TYPES } from '../../src/gateway/gateway-webhook.js';
import { describeWithRedisBinary } from '../support/redis.js';
import { charge, newKey, validCharge } from '../support/payments-client.js';
import { useServiceProcess } from '../support/service-process.js';
import { waitFor } from '../support/wait-for.js';

const API_KEY = 'sk_live_secret_merchant_key_4242';
const ADMIN_TOKEN = 'admin_secret_token_for_operators_4242';
const WEBHOOK_SECRET = 'whsec_secret_webhook_signing_4242';
const SECRETS = [API_KEY, ADMIN_TOKEN, WEBHOOK_SECRET, 'secret_merchant_key', 'secret_token_for', 'secret_webhook_signing'];

/** The built service at its most verbose: whatever it logs is captured and searched for secrets. */
describeWithRedisBinary('secrets stay secret', () => {
  const running = useServiceProcess({ API_KEYS: `merchantA:${API_KEY}`, ADMIN_TOKEN, WEBHOOK_SECRET, LOG_LEVEL: 'verbose' });
  const bodies: string[] = [];
  const webhookRequestsLogged = () =>
    running.service.logs.split('\n').filter((line) => line.includes('"msg":"request completed"') && line.includes('"route":"/api/webhooks/gateway"')).length;

  beforeAll(async () => {
    const { service } = running;
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
    let charged = 0;
    for (const attempt of attempts) {
      const response = await attempt;
      bodies.push(response.text);
      if (response.status === 201) charged++;
    }
    expect(charged).toBeGreaterThan(0);
    // The mock gateway's signed deliveries of each charge's events are logged too.
    const expected = charged * GATEWAY_WEBHOOK_TYPES.length;
    await waitFor(`${expected} webhook requests are logged`, () => Promise.resolve(webhookRequestsLogged() >= expected));
    await service.stop();
  });

  it('logs something, and none of it contains an API key, the admin token or the webhook secret', () => {
    const { logs } = running.service;
    expect(logs.length).toBeGreaterThan(0);
    for (const secret of SECRETS) expect(logs).not.toContain(secret);
  });

  it('puts no API key, admin token or webhook secret into any response body', () => {
    expect(bodies).toHaveLength(12);
    for (const body of bodies) {
      for (const secret of SECRETS) expect(body).not.toContain(secret);
    }
  });
});
