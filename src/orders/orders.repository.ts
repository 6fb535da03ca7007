import { Injectable } from '@nestjs/common';
import { customerAmountOf, type CustomerAmountColumns } from '../common/customer-amount.js';
import { Database, type Statement } from '../database/database.js';
import type { PaymentEvent } from '../events/payment-event.js';
import type { StoredPayment } from '../payments/payment.js';
import { GATEWAY_STATUS_RANK, type GatewayStatus, type Order, type OrderStatus } from './order.js';

const ORDER_COLUMNS = `id, owner, idempotency_key, request_fingerprint, idempotency_record_id, amount, currency, customer_id, description, metadata,
  status, charge_id, charged_at, failure, gateway_status, created_at, updated_at`;

/**
 * Inserts the order unless its id (or its owner's key) exists; returns a row if inserted. Only a
 * constant comes back: the inserted order is the one sent (parsing 17 columns back, dates and
 * JSON, showed in the charge's profile), and an existing one is read by FIND.
 */
const CREATE: Statement = {
  name: 'orders-create',
  text: `INSERT INTO orders (id, owner, idempotency_key, request_fingerprint, idempotency_record_id, amount, currency, customer_id,
  description, metadata, status, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
ON CONFLICT DO NOTHING RETURNING true AS created`,
};

const FIND: Statement = { name: 'orders-find', text: `SELECT ${ORDER_COLUMNS} FROM orders WHERE id = $1` };
const FIND_BY_KEY: Statement = { name: 'orders-find-by-key', text: `SELECT ${ORDER_COLUMNS} FROM orders WHERE owner = $1 AND idempotency_key = $2` };

/**
 * One statement, so one implicit transaction: the payment (if any, kept even when the status has
 * moved on, as it holds the same values then), the order's change if its status is one of $2 (a
 * compare-and-set: of two writers racing from one status, one wins) and the change's event in the
 * outbox (if any, only with the change). Returns whether the change was applied.
 */
const TRANSITION: Statement = {
  name: 'orders-transition',
  text: `WITH payment AS (
  INSERT INTO payments (id, order_id, owner, amount, currency, customer_id, status, created_at)
  SELECT $8, $1, $9, $10, $11, $12, 'succeeded', $13 WHERE $8::text IS NOT NULL
  ON CONFLICT DO NOTHING
), changed AS (
  UPDATE orders SET status = $3, charge_id = $4, charged_at = $5, failure = $6, updated_at = $7, reconcile_claimed_until = NULL
  WHERE id = $1 AND status = ANY($2::text[])
  RETURNING id
), event AS (
  INSERT INTO payment_events (id, type, occurred_at, data) SELECT $14, $15, $16, $17 FROM changed WHERE $14::text IS NOT NULL
)
SELECT count(*)::int AS applied FROM changed`,
};

/**
 * A webhook's status, once per event id and never backwards: the delivery is recorded (a known
 * event id is a duplicate and changes nothing) with whether it moved the order's gateway status,
 * and the status moves only to one of higher rank. The order's row is locked first, so two events
 * of one order are applied one after the other. An unknown order changes nothing.
 */
const RECORD_GATEWAY_STATUS: Statement = {
  name: 'orders-record-gateway-status',
  text: `WITH known AS (
  SELECT id, (CASE gateway_status WHEN 'pending' THEN 1 WHEN 'succeeded' THEN 2 ELSE 0 END) < $3 AS advances
  FROM orders WHERE id = $1 FOR UPDATE
), delivery AS (
  INSERT INTO webhook_deliveries (event_id, type, order_id, result)
  SELECT $4, $5, id, CASE WHEN advances THEN 'applied' ELSE 'ignored' END FROM known
  ON CONFLICT (event_id) DO NOTHING
  RETURNING result
), changed AS (
  UPDATE orders SET gateway_status = $2 FROM delivery WHERE orders.id = $1 AND delivery.result = 'applied'
)
SELECT (SELECT count(*) FROM known)::int AS known, (SELECT result FROM delivery) AS result`,
};

/**
 * Claims up to $3 open orders whose attempt began at or before $1, oldest first, that no other
 * reconciler claimed (or whose claim ran out): rows another transaction holds are skipped, not
 * waited for, so reconcilers never queue on each other. The claim lasts $2 ms.
 */
const CLAIM_OPEN: Statement = {
  name: 'orders-claim-open',
  text: `UPDATE orders SET reconcile_claimed_until = statement_timestamp() + $2::float8 * interval '1 millisecond'
WHERE id IN (
  SELECT id FROM orders
  WHERE status = 'CREATED' AND updated_at <= $1 AND (reconcile_claimed_until IS NULL OR reconcile_claimed_until <= statement_timestamp())
  ORDER BY updated_at LIMIT $3
  FOR UPDATE SKIP LOCKED
)
RETURNING ${ORDER_COLUMNS}`,
};

const UNCLAIM: Statement = { name: 'orders-unclaim', text: `UPDATE orders SET reconcile_claimed_until = NULL WHERE id = ANY($1::text[])` };
const OLDEST_OPEN: Statement = { name: 'orders-oldest-open', text: `SELECT min(updated_at) AS began FROM orders WHERE status = 'CREATED'` };

const LIST_FIRST: Statement = {
  name: 'orders-list-first',
  text: `SELECT ${ORDER_COLUMNS} FROM orders WHERE owner = $1 ORDER BY created_at DESC, id DESC LIMIT $2`,
};
const LIST_AFTER: Statement = {
  name: 'orders-list-after',
  text: `SELECT ${ORDER_COLUMNS} FROM orders WHERE owner = $1 AND (created_at, id) < ($3::timestamptz, $4) ORDER BY created_at DESC, id DESC LIMIT $2`,
};

interface OrderRow extends CustomerAmountColumns {
  id: string;
  owner: string;
  idempotency_key: string;
  request_fingerprint: string;
  idempotency_record_id: string;
  description: string | null;
  metadata: Record<string, string> | null;
  status: OrderStatus;
  charge_id: string | null;
  charged_at: Date | null;
  failure: Order['failure'] | null;
  gateway_status: GatewayStatus | null;
  created_at: Date;
  updated_at: Date;
}

export type GatewayStatusResult = 'applied' | 'duplicate' | 'ignored' | 'unknown_order';

/** Where a page of an owner's orders starts: after this order (newest first). */
export interface OrderPosition {
  createdAt: string;
  id: string;
}

export interface OrderPage {
  orders: Order[];
  /** The last order returned, when more may follow. */
  last?: OrderPosition;
}

/** Orders in PostgreSQL: the business record, never deleted. */
@Injectable()
export class OrdersRepository {
  constructor(private readonly database: Database) {}

  /** Creates the order unless one with its id exists; returns the order that is stored. */
  async createIfAbsent(order: Order): Promise<Order> {
    const { rowCount } = await this.database.query(CREATE, [
      order.id,
      order.owner,
      order.idempotencyKey,
      order.requestFingerprint,
      order.idempotencyRecordId,
      order.amount,
      order.currency,
      order.customerId,
      order.description ?? null,
      order.metadata === undefined ? null : JSON.stringify(order.metadata),
      order.status,
      order.createdAt,
      order.updatedAt,
    ]);
    if (rowCount === 1) return order;
    const stored = await this.find(order.id);
    if (!stored) throw new Error(`Order ${order.id} conflicts with another order of key ${order.idempotencyKey}`);
    return stored;
  }

  async find(id: string): Promise<Order | undefined> {
    const { rows } = await this.database.query<OrderRow>(FIND, [id]);
    return rows[0] && toOrder(rows[0]);
  }

  async findByKey(owner: string, idempotencyKey: string): Promise<Order | undefined> {
    const { rows } = await this.database.query<OrderRow>(FIND_BY_KEY, [owner, idempotencyKey]);
    return rows[0] && toOrder(rows[0]);
  }

  /**
   * Stores the order's new status if its stored status is one of `from`, with its payment and its
   * event, in one transaction (see TRANSITION). Returns whether the change was applied.
   */
  async transition(order: Order, from: OrderStatus[], event?: PaymentEvent, payment?: StoredPayment): Promise<boolean> {
    const { rows } = await this.database.query<{ applied: number }>(TRANSITION, [
      order.id,
      from,
      order.status,
      order.payment?.chargeId ?? null,
      order.payment?.chargedAt ?? null,
      order.failure === undefined ? null : JSON.stringify(order.failure),
      order.updatedAt,
      payment?.id ?? null,
      payment?.owner ?? null,
      payment?.amount ?? null,
      payment?.currency ?? null,
      payment?.customerId ?? null,
      payment?.createdAt ?? null,
      event?.id ?? null,
      event?.type ?? null,
      event?.occurredAt ?? null,
      event ? JSON.stringify(event.data) : null,
    ]);
    return rows[0]!.applied === 1;
  }

  async recordGatewayStatus(orderId: string, status: GatewayStatus, eventId: string, eventType: string): Promise<GatewayStatusResult> {
    const { rows } = await this.database.query<{ known: number; result: 'applied' | 'ignored' | null }>(RECORD_GATEWAY_STATUS, [
      orderId,
      status,
      GATEWAY_STATUS_RANK[status],
      eventId,
      eventType,
    ]);
    const [row] = rows;
    if (!row || row.known === 0) return 'unknown_order';
    return row.result ?? 'duplicate';
  }

  /** Claims open orders due for reconciliation (see CLAIM_OPEN) for `claimMs`. */
  async claimOpen(beganBefore: Date, limit: number, claimMs: number): Promise<Order[]> {
    const { rows } = await this.database.query<OrderRow>(CLAIM_OPEN, [beganBefore.toISOString(), claimMs, limit]);
    return rows.map(toOrder);
  }

  /** Gives claimed orders back (their attempt turned out to be live): the next sweep looks at them again. */
  async unclaim(ids: string[]): Promise<void> {
    if (ids.length > 0) await this.database.query(UNCLAIM, [ids]);
  }

  /** When the attempt of the oldest CREATED order began (ms), if there is one. */
  async oldestOpenBeganAt(): Promise<number | undefined> {
    const { rows } = await this.database.query<{ began: Date | null }>(OLDEST_OPEN, []);
    return rows[0]?.began?.getTime();
  }

  /** Newest first, `limit` orders after `after`, and the position of the last when more follow. */
  async listByOwner(owner: string, limit: number, after?: OrderPosition): Promise<OrderPage> {
    const { rows } = after
      ? await this.database.query<OrderRow>(LIST_AFTER, [owner, limit + 1, after.createdAt, after.id])
      : await this.database.query<OrderRow>(LIST_FIRST, [owner, limit + 1]);
    const orders = rows.slice(0, limit).map(toOrder);
    const last = rows.length > limit ? orders.at(-1) : undefined;
    return { orders, last: last && { createdAt: last.createdAt, id: last.id } };
  }
}

function toOrder(row: OrderRow): Order {
  return {
    id: row.id,
    owner: row.owner,
    idempotencyKey: row.idempotency_key,
    requestFingerprint: row.request_fingerprint,
    idempotencyRecordId: row.idempotency_record_id,
    ...customerAmountOf(row),
    ...(row.description !== null && { description: row.description }),
    ...(row.metadata !== null && { metadata: row.metadata }),
    status: row.status,
    ...(row.charge_id !== null && { payment: { chargeId: row.charge_id, status: 'succeeded', chargedAt: row.charged_at!.toISOString() } }),
    ...(row.failure !== null && { failure: row.failure }),
    ...(row.gateway_status !== null && { gatewayStatus: row.gateway_status }),
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}
