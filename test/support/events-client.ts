import type { QueryResult, QueryResultRow } from 'pg';
import request from 'supertest';
import type { PaymentEvent } from '../../src/events/payment-event.js';
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

/** What reads the service's database: a pg Pool or Client. */
interface Queryable {
  query<R extends QueryResultRow>(text: string, values?: unknown[]): Promise<QueryResult<R>>;
}

export interface OutboxEntry {
  position: number;
  publishedAt: Date | null;
  event: PaymentEvent;
}

/** Every payment event of the outbox, oldest first. */
export async function outboxEntries(database: Queryable): Promise<OutboxEntry[]> {
  const { rows } = await database.query<{
    position: string;
    id: string;
    type: PaymentEvent['type'];
    occurred_at: Date;
    data: PaymentEvent['data'];
    published_at: Date | null;
  }>('SELECT position, id, type, occurred_at, data, published_at FROM payment_events ORDER BY position');
  return rows.map((row) => ({
    position: Number(row.position),
    publishedAt: row.published_at,
    event: { id: row.id, type: row.type, occurredAt: row.occurred_at.toISOString(), data: row.data },
  }));
}

/** Waits until every event of the outbox is published to the broker. */
export async function waitUntilAllPublished(database: Queryable, timeoutMs = 15_000): Promise<void> {
  await waitFor(
    'every payment event is published',
    async () => (await database.query<{ left: number }>('SELECT count(*)::int AS left FROM payment_events WHERE published_at IS NULL')).rows[0]!.left === 0,
    timeoutMs,
  );
}

/** Waits until every event of the outbox is published and each payment.succeeded applied by the projections' consumer. */
export async function waitUntilAllConsumed(database: Queryable, timeoutMs = 15_000): Promise<void> {
  await waitFor(
    'every payment event is published and consumed',
    async () =>
      (
        await database.query<{ waiting: number }>(
          `SELECT count(*)::int AS waiting FROM payment_events e
           WHERE e.published_at IS NULL
              OR (e.type = 'payment.succeeded' AND NOT EXISTS (SELECT FROM consumed_events c WHERE c.consumer = 'projections' AND c.event_id = e.id))`,
        )
      ).rows[0]!.waiting === 0,
    timeoutMs,
  );
}
