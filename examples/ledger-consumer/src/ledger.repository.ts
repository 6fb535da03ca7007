import { Inject, Injectable } from '@nestjs/common';
import type { Pool, PoolClient } from 'pg';
import { PG_POOL } from './database.js';
import type { PaymentSucceeded } from './payment-event.js';

export interface LedgerEntry {
  entryId: number;
  eventId: string;
  orderId: string;
  owner: string;
  customerId: string;
  chargeId: string;
  amount: number;
  currency: string;
  occurredAt: string;
  recordedAt: string;
}

export interface LedgerTotal {
  currency: string;
  /** Minor units. */
  amount: number;
  entries: number;
}

@Injectable()
export class LedgerRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /** Appends the event's entry on `client`, inside the caller's transaction. */
  async append(client: PoolClient, event: PaymentSucceeded): Promise<number> {
    const { orderId, owner, customerId, chargeId, amount, currency } = event.data;
    const { rows } = await client.query<{ entry_id: string }>(
      `INSERT INTO ledger_entries (event_id, order_id, owner, customer_id, charge_id, amount, currency, occurred_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING entry_id`,
      [event.id, orderId, owner, customerId, chargeId, amount, currency, event.occurredAt],
    );
    return Number(rows[0].entry_id);
  }

  /** The newest `limit` entries, newest first. */
  async latest(limit: number): Promise<LedgerEntry[]> {
    const { rows } = await this.pool.query<Record<string, string | Date>>(
      `SELECT entry_id, event_id, order_id, owner, customer_id, charge_id, amount, currency, occurred_at, recorded_at
       FROM ledger_entries ORDER BY entry_id DESC LIMIT $1`,
      [limit],
    );
    return rows.map((row) => ({
      entryId: Number(row.entry_id),
      eventId: String(row.event_id),
      orderId: String(row.order_id),
      owner: String(row.owner),
      customerId: String(row.customer_id),
      chargeId: String(row.charge_id),
      amount: Number(row.amount),
      currency: String(row.currency),
      occurredAt: (row.occurred_at as Date).toISOString(),
      recordedAt: (row.recorded_at as Date).toISOString(),
    }));
  }

  /** Every entry summed per currency. */
  async totals(): Promise<LedgerTotal[]> {
    const { rows } = await this.pool.query<{ currency: string; amount: string; entries: string }>(
      'SELECT currency, sum(amount) AS amount, count(*) AS entries FROM ledger_entries GROUP BY currency ORDER BY currency',
    );
    return rows.map((row) => ({ currency: row.currency, amount: Number(row.amount), entries: Number(row.entries) }));
  }
}
