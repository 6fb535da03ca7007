import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Response } from 'supertest';
import { gatewayWebhookFor, type GatewayWebhook, type GatewayWebhookType } from '../../src/gateway/gateway-webhook.js';
import { SIGNATURE_TOLERANCE_SECONDS, signatureHeader } from '../../src/gateway/webhook-signature.js';
import { TEST_WEBHOOK_SECRET, gatewayStatusOf, postWebhook } from '../support/events-client.js';
import { duplicatesDropped } from '../support/metrics.js';
import { charge, newKey, setBehavior } from '../support/payments-client.js';
import { startRedis } from '../support/redis.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { waitFor } from '../support/wait-for.js';
import { expectProblem } from '../support/problem.js';

/**
 * POST /api/webhooks/gateway over HTTP. `receiver` gets the deliveries the tests sign themselves
 * (the mock gateway's own deliveries are off there); `gateway` delivers its webhooks to itself.
 */
describe('gateway webhooks', () => {
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let receiver: TestApp;
  let gateway: TestApp;

  beforeAll(async () => {
    redis = await startRedis();
    const env = { WEBHOOK_SECRET: TEST_WEBHOOK_SECRET, EVENTS_WORKER: 'false' };
    [receiver, gateway] = await Promise.all([startTestApp(redis.url, { ...env, WEBHOOK_DELIVERY: 'false' }), startTestApp(redis.url, env)]);
  });

  afterAll(async () => {
    await Promise.all([receiver?.close(), gateway?.close()]);
    await redis?.stop();
  });

  /** A paid order whose gateway has not reported anything yet, and the events the gateway would send. */
  async function paidOrder(): Promise<{ orderId: string; event: (type: GatewayWebhookType) => GatewayWebhook }> {
    const paid = await charge(receiver.baseUrl, newKey('webhook')).expect(201);
    return { orderId: paid.body.orderId, event: (type) => gatewayWebhookFor(type, paid.body) };
  }

  it('applies a signed event (200 applied), then answers its duplicate 200 without effect and counts it', async () => {
    const { orderId, event } = await paidOrder();
    const succeeded = event('charge.succeeded');
    const droppedBefore = await duplicatesDropped(receiver.baseUrl, 'webhook');

    const first = await postWebhook(receiver.baseUrl, succeeded).expect(200);
    expect(first.body).toEqual({ eventId: succeeded.id, result: 'applied' });
    expect(await gatewayStatusOf(receiver.baseUrl, orderId)).toBe('succeeded');

    const again = await postWebhook(receiver.baseUrl, succeeded).expect(200);
    expect(again.body).toEqual({ eventId: succeeded.id, result: 'duplicate' });
    expect(await duplicatesDropped(receiver.baseUrl, 'webhook')).toBe(droppedBefore + 1);
  });

  it('never moves an order backwards: a late charge.pending after charge.succeeded is ignored', async () => {
    const { orderId, event } = await paidOrder();
    expect((await postWebhook(receiver.baseUrl, event('charge.pending')).expect(200)).body.result).toBe('applied');
    expect(await gatewayStatusOf(receiver.baseUrl, orderId)).toBe('pending');
    expect((await postWebhook(receiver.baseUrl, event('charge.succeeded')).expect(200)).body.result).toBe('applied');
    const late = await postWebhook(receiver.baseUrl, event('charge.pending')).expect(200);
    expect(late.body.result).toBe('ignored');
    expect(await gatewayStatusOf(receiver.baseUrl, orderId)).toBe('succeeded');
  });

  it('applies one of 100 concurrent deliveries of one event; the other 99 are duplicates', async () => {
    const { orderId, event } = await paidOrder();
    const succeeded = event('charge.succeeded');
    const droppedBefore = await duplicatesDropped(receiver.baseUrl, 'webhook');
    const body = JSON.stringify(succeeded);
    const responses = await Promise.all(Array.from({ length: 100 }, () => postWebhook(receiver.baseUrl, body)));
    expect(responses.map((response) => response.status)).toEqual(Array(100).fill(200));
    const results = responses.map((response) => response.body.result as string);
    expect(results.filter((result) => result === 'applied')).toHaveLength(1);
    expect(results.filter((result) => result === 'duplicate')).toHaveLength(99);
    expect(await gatewayStatusOf(receiver.baseUrl, orderId)).toBe('succeeded');
    expect(await duplicatesDropped(receiver.baseUrl, 'webhook')).toBe(droppedBefore + 99);
  });

  it('refuses forged deliveries with 401 and no effect: wrong secret, tampered body, stale or future timestamp, no or malformed header', async () => {
    const { orderId, event } = await paidOrder();
    const succeeded = event('charge.succeeded');
    const body = JSON.stringify(succeeded);
    const tampered = body.replace('"amount":1999', '"amount":1');
    expect(tampered).not.toBe(body);
    const now = Math.floor(Date.now() / 1000);
    const forgeries: Array<[string, Promise<Response>]> = [
      ['wrong secret', postWebhook(receiver.baseUrl, body, { secret: 'whsec_someone_else_entirely' })],
      ['tampered body', postWebhook(receiver.baseUrl, tampered, { signature: signatureHeader(TEST_WEBHOOK_SECRET, body) })],
      ['stale timestamp', postWebhook(receiver.baseUrl, body, { timestamp: now - 2 * SIGNATURE_TOLERANCE_SECONDS })],
      ['future timestamp', postWebhook(receiver.baseUrl, body, { timestamp: now + 2 * SIGNATURE_TOLERANCE_SECONDS })],
      ['no header', postWebhook(receiver.baseUrl, body, { signature: null })],
      ['malformed header', postWebhook(receiver.baseUrl, body, { signature: 'sha256=abc' })],
    ];
    for (const [name, delivery] of forgeries) {
      const response = await delivery;
      expect([name, response.status]).toEqual([name, 401]);
      expectProblem(response, 401, 'WEBHOOK_SIGNATURE_INVALID');
    }
    expect(await gatewayStatusOf(receiver.baseUrl, orderId)).toBeUndefined();
    // Not even the event's marker was written: the genuine delivery still applies.
    expect((await postWebhook(receiver.baseUrl, body).expect(200)).body.result).toBe('applied');
  });

  it('answers problems for a signed body of the wrong shape (400) or type (415), and 200 unknown_order for another order', async () => {
    const invalid = await postWebhook(receiver.baseUrl, JSON.stringify({ id: 'evt_1', type: 'charge.refunded', created: 1, data: {} }));
    expectProblem(invalid, 400, 'VALIDATION_FAILED');
    const body = JSON.stringify(gatewayWebhookFor('charge.succeeded', { id: 'ch_1', orderId: 'ord_000000000000000000000000', amount: 1, currency: 'EUR' }));
    const unknown = await postWebhook(receiver.baseUrl, body).expect(200);
    expect(unknown.body.result).toBe('unknown_order');
    const plain = await fetch(`${receiver.baseUrl}/api/webhooks/gateway`, {
      method: 'POST',
      headers: { 'Content-Type': 'text/plain', 'Gateway-Signature': signatureHeader(TEST_WEBHOOK_SECRET, body) },
      body,
    });
    expect(plain.status).toBe(415);
    expect(await plain.json()).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE' });
  });

  it('the mock gateway delivers charge.pending and charge.succeeded for its charges, twice each and shuffled, and every order ends succeeded', async () => {
    await setBehavior(gateway.baseUrl, { webhookDuplicateRate: 1, webhookShuffle: true });
    try {
      const droppedBefore = await duplicatesDropped(gateway.baseUrl, 'webhook');
      const orderIds: string[] = [];
      for (let index = 0; index < 10; index++) orderIds.push((await charge(gateway.baseUrl, newKey('delivered')).expect(201)).body.orderId);
      // Two events per charge, each sent twice: one of each pair is dropped as a duplicate.
      await waitFor('every duplicate delivery has arrived', async () => (await duplicatesDropped(gateway.baseUrl, 'webhook')) === droppedBefore + 20);
      const statuses = await Promise.all(orderIds.map((orderId) => gatewayStatusOf(gateway.baseUrl, orderId)));
      expect(statuses).toEqual(Array(10).fill('succeeded'));
    } finally {
      await setBehavior(gateway.baseUrl, { webhookDuplicateRate: 0, webhookShuffle: false });
    }
  });
});
