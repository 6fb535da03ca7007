import { Injectable } from '@nestjs/common';
import { customerAmountOf, type CustomerAmountColumns } from '../common/customer-amount.js';
import { Database, type Queryable, type Statement } from '../database/database.js';
import type { PaymentEvent } from './payment-event.js';
import type { CurrencyBalance, StoredReceipt } from './projections.js';

/** The consumer name the projections' consumed-event markers carry. */
const CONSUMER = 'projections';

/**
 * Applies a batch of events once each, in one statement (a round trip per batch rather than per
 * event: the outbox worker's cost per charge). An event's consumed marker is inserted unless it
 * exists (a duplicate or a redelivery: nothing else happens); with a new marker, a
 * payment.succeeded event's receipt is inserted unless the order has one, and only new receipts
 * move the balances (summed per balance, as one row may change only once per statement), so a
 * paid order counts once even after its marker was cleaned up. One row per event: whether it was
 * consumed now and whether it made a receipt.
 */
const APPLY: Statement = {
  name: 'projections-apply',
  text: `WITH input AS (
  SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::text[], $9::timestamptz[])
    AS i (event_id, order_id, owner, charge_id, customer_id, amount, currency, paid_at)
), consumed AS (
  INSERT INTO consumed_events (consumer, event_id) SELECT $1, event_id FROM input ON CONFLICT DO NOTHING RETURNING event_id
), receipt AS (
  INSERT INTO receipts (order_id, owner, charge_id, customer_id, amount, currency, paid_at, event_id)
  SELECT i.order_id, i.owner, i.charge_id, i.customer_id, i.amount, i.currency, i.paid_at, i.event_id
  FROM input i JOIN consumed USING (event_id) WHERE i.charge_id IS NOT NULL
  ON CONFLICT (order_id) DO NOTHING
  RETURNING event_id, owner, customer_id, currency, amount
), balance AS (
  INSERT INTO balances AS b (owner, customer_id, currency, amount, payments)
  SELECT owner, customer_id, currency, sum(amount)::bigint, count(*)::int FROM receipt GROUP BY owner, customer_id, currency
  ON CONFLICT (owner, customer_id, currency) DO UPDATE SET amount = b.amount + excluded.amount, payments = b.payments + excluded.payments
)
SELECT i.event_id, consumed.event_id IS NOT NULL AS consumed, receipt.event_id IS NOT NULL AS applied
FROM input i LEFT JOIN consumed USING (event_id) LEFT JOIN receipt USING (event_id)`,
};

const FIND_RECEIPT: Statement = {
  name: 'projections-find-receipt',
  text: 'SELECT order_id, owner, charge_id, customer_id, amount, currency, paid_at, event_id FROM receipts WHERE order_id = $1',
};
const BALANCES: Statement = {
  name: 'projections-balances',
  text: 'SELECT currency, amount, payments FROM balances WHERE owner = $1 AND customer_id = $2 ORDER BY currency',
};

interface ReceiptRow extends CustomerAmountColumns {
  order_id: string;
  owner: string;
  charge_id: string;
  paid_at: Date;
  event_id: string;
}

/** applied: receipt and balance changed; duplicate: consumed before; no_effect: consumed now, nothing to change. */
export type ProjectionResult = 'applied' | 'duplicate' | 'no_effect';

/** What merchants see of their payments' events: a receipt per paid order, a balance per customer and currency. */
@Injectable()
export class ProjectionsRepository {
  constructor(private readonly database: Database) {}

  /** Applies the event once (see APPLY), on `client` when it runs inside the caller's transaction. */
  async apply(event: PaymentEvent, client?: Queryable): Promise<ProjectionResult> {
    return (await this.applyAll([event], client))[0]!;
  }

  /** Applies each event once, in one statement (see APPLY); the results in the events' order. */
  async applyAll(events: PaymentEvent[], client?: Queryable): Promise<ProjectionResult[]> {
    if (events.length === 0) return [];
    // Only a success changes what merchants see; a failure is consumed (marked) without effect.
    const column = <T>(pick: (event: PaymentEvent) => T) => events.map(pick);
    const { rows } = await this.database.query<{ event_id: string; consumed: boolean; applied: boolean }>(
      APPLY,
      [
        CONSUMER,
        column((event) => event.id),
        column((event) => event.data.orderId),
        column((event) => event.data.owner),
        column((event) => (event.type === 'payment.succeeded' ? (event.data.chargeId ?? null) : null)),
        column((event) => event.data.customerId),
        column((event) => event.data.amount),
        column((event) => event.data.currency),
        column((event) => event.occurredAt),
      ],
      client,
    );
    const results = new Map(rows.map((row) => [row.event_id, row]));
    return events.map((event) => {
      const row = results.get(event.id);
      return !row?.consumed ? 'duplicate' : row.applied ? 'applied' : 'no_effect';
    });
  }

  async findReceipt(orderId: string): Promise<StoredReceipt | undefined> {
    const [row] = (await this.database.query<ReceiptRow>(FIND_RECEIPT, [orderId])).rows;
    return (
      row && {
        orderId: row.order_id,
        chargeId: row.charge_id,
        ...customerAmountOf(row),
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
