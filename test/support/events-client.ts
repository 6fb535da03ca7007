import type { Redis } from 'ioredis';
import request from 'supertest';
import { PAYMENTS_STREAM, PROJECTIONS_GROUP, fromStreamFields, type PaymentEvent } from '../../src/events/payment-event.js';
import type { CurrencyBalance } from '../../src/events/projections.js';
import type { GatewayWebhook } from '../../src/gateway/gateway-webhook.js';
import { SIGNATURE_HEADER, WEBHOOK_PATH, signatureHeader } from '../../src/gateway/webhook-signature.js';
import { waitFor } from './wait-for.js';

export const TEST_WEBHOOK_SECRET = 'whsec_test_0123456789abcdef';

export interface WebhookOptions {
  secret?: string;
  /** Unix seconds the signature claims. */
  timestamp?: number;
  /** The Gateway-Signature header as sent; null sends none. Default: a valid signature of the body. */
  signature?: string | null;
}

/** Posts a webhook as the gateway does: the exact body bytes, signed (or not, or wrongly) as asked. */
export function postWebhook(baseUrl: string, body: GatewayWebhook | string, options: WebhookOptions = {}) {
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  const signature = options.signature === undefined ? signatureHeader(options.secret ?? TEST_WEBHOOK_SECRET, raw, options.timestamp) : options.signature;
  const call = request(baseUrl).post(WEBHOOK_PATH).set('Content-Type', 'application/json');
  if (signature !== null) call.set(SIGNATURE_HEADER, signature);
  return call.send(raw);
}

export async function balanceOf(baseUrl: string, customerId: string, headers: Record<string, string> = {}): Promise<CurrencyBalance[]> {
  const response = await request(baseUrl).get(`/api/customers/${customerId}/balance`).set(headers).expect(200);
  return response.body.balances as CurrencyBalance[];
}

export async function gatewayStatusOf(baseUrl: string, orderId: string, headers: Record<string, string> = {}): Promise<string | undefined> {
  const response = await request(baseUrl).get(`/api/orders/${orderId}`).set(headers).expect(200);
  return response.body.gatewayStatus as string | undefined;
}

export interface StreamEntry {
  entryId: string;
  event: PaymentEvent;
}

/** Every payment event in the stream, oldest first. */
export async function streamEntries(redis: Redis): Promise<StreamEntry[]> {
  const entries = await redis.xrange(PAYMENTS_STREAM, '-', '+');
  return entries.map(([entryId, fields]) => ({ entryId, event: fromStreamFields(fields)! }));
}

/** Entries of the group delivered and not yet acknowledged: [entry id, consumer, idle ms, deliveries]. */
export async function pendingEntries(redis: Redis): Promise<Array<[entryId: string, consumer: string, idleMs: number, deliveries: number]>> {
  return (await redis.xpending(PAYMENTS_STREAM, PROJECTIONS_GROUP, '-', '+', 1000)) as Array<[string, string, number, number]>;
}

/** Waits until the group has read every entry of the stream and acknowledged all of them. */
export async function waitUntilAllConsumed(redis: Redis, timeoutMs = 15_000): Promise<void> {
  await waitFor(
    'every payment event is consumed and acknowledged',
    async () => {
      const [last] = await redis.xrevrange(PAYMENTS_STREAM, '+', '-', 'COUNT', 1);
      const groups = (await redis.xinfo('GROUPS', PAYMENTS_STREAM)) as Array<Array<string | number>>;
      const group = groups.map((fields) => Object.fromEntries(toPairs(fields))).find((info) => info.name === PROJECTIONS_GROUP);
      return !!last && !!group && group['last-delivered-id'] === last[0] && group.pending === 0;
    },
    timeoutMs,
  );
}

function toPairs(fields: Array<string | number>): Array<[string, string | number]> {
  const pairs: Array<[string, string | number]> = [];
  for (let index = 0; index + 1 < fields.length; index += 2) pairs.push([String(fields[index]), fields[index + 1]!]);
  return pairs;
}
