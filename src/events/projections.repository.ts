import { Injectable } from '@nestjs/common';
import { Database, type Queryable, type Statement } from '../database/database.js';
import type { PaymentEvent } from './payment-event.js';
import type { CurrencyBalance, StoredReceipt } from './projections.js';

/** The consumer name the projections' consumed-event markers carry. */
const CONSUMER = 'projections';

/**
 * Applies an event once, in one statement: its consumed marker is inserted unless it exists (a
 * duplicate or a redelivery: nothing else happens); with a new marker, a payment.succeeded event's
 * receipt is inserted unless the order has one, and only a new receipt moves the balance, so a
 * paid order counts once even after its marker was cleaned up.
 */
const APPLY: Statement = {
  name: 'projections-apply',
  text: `WITH consumed AS (
  INSERT INTO consumed_events (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING event_id
), receipt AS (
  INSERT INTO receipts (order_id, owner, charge_id, customer_id, amount, currency, paid_at, event_id)
  SELECT $3, $4, $5, $6, $7, $8, $9, $2 FROM consumed WHERE $5::text IS NOT NULL
  ON CONFLICT (order_id) DO NOTHING
  RETURNING owner, customer_id, currency, amount
), balance AS (
  INSERT INTO balances AS b (owner, customer_id, currency, amount, payments) SELECT owner, customer_id, currency, amount, 1 FROM receipt
  ON CONFLICT (owner, customer_id, currency) DO UPDATE SET amount = b.amount + excluded.amount, payments = b.payments + 1
)
SELECT (SELECT count(*) FROM consumed)::int AS consumed, (SELECT count(*) FROM receipt)::int AS applied`,
};

const FIND_RECEIPT: Statement = {
  name: 'projections-find-receipt',
  text: 'SELECT order_id, owner, charge_id, customer_id, amount, currency, paid_at, event_id FROM receipts WHERE order_id = $1',
};
const BALANCES: Statement = {
  name: 'projections-balances',
  text: 'SELECT currency, amount, payments FROM balances WHERE owner = $1 AND customer_id = $2 ORDER BY currency',
};

/** applied: receipt and balance changed; duplicate: consumed before; no_effect: consumed now, nothing to change. */
export type ProjectionResult = 'applied' | 'duplicate' | 'no_effect';

/** What merchants see of their payments' events: a receipt per paid order, a balance per customer and currency. */
@Injectable()
export class ProjectionsRepository {
  constructor(private readonly database: Database) {}

  /** Applies the event once (see APPLY), on `client` when it runs inside the caller's transaction. */
  async apply(event: PaymentEvent, client?: Queryable): Promise<ProjectionResult> {
    const { data } = event;
    // Only a success changes what merchants see; a failure is consumed (marked) without effect.
    const chargeId = event.type === 'payment.succeeded' ? (data.chargeId ?? null) : null;
    const { rows } = await this.database.query<{ consumed: number; applied: number }>(
      APPLY,
      [CONSUMER, event.id, data.orderId, data.owner, chargeId, data.customerId, data.amount, data.currency, event.occurredAt],
      client,
    );
    const [{ consumed, applied }] = rows as [{ consumed: number; applied: number }];
    return consumed === 0 ? 'duplicate' : applied === 1 ? 'applied' : 'no_effect';
  }

  async findReceipt(orderId: string): Promise<StoredReceipt | undefined> {
    const [row] = (
      await this.database.query<{
        order_id: string;
        owner: string;
        charge_id: string;
        customer_id: string;
        amount: string;
        currency: string;
        paid_at: Date;
        event_id: string;
      }>(FIND_RECEIPT, [orderId])
    ).rows;
    return (
      row && {
        orderId: row.order_id,
        chargeId: row.charge_id,
        customerId: row.customer_id,
        amount: Number(row.amount),
        currency: row.currency,
        paidAt: row.paid_at.toISOString(),
        eventId: row.event_id,
        owner: row.owner,
      }
    );
  }

  /** The customer's balance with this merchant, by currency code. */
  async balances(owner: string, customerId: string): Promise<CurrencyBalance[]> {
    const { rows } = await this.database.query<{ currency: string; amount: string; payments: number }>(BALANCES, [owner, customerId]);
    return rows.map((row) => ({ currency: row.currency, amount: Number(row.amount), payments: row.payments }));
  }
}
