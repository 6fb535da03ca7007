import { Injectable } from '@nestjs/common';
import { customerAmountOf, type CustomerAmountColumns } from '../common/customer-amount.js';
import { Database, type Statement } from '../database/database.js';
import type { StoredPayment } from './payment.js';

const FIND: Statement = {
  name: 'payments-find',
  text: 'SELECT id, order_id, owner, amount, currency, customer_id, status, created_at FROM payments WHERE id = $1',
};

interface PaymentRow extends CustomerAmountColumns {
  id: string;
  order_id: string;
  owner: string;
  status: 'succeeded';
  created_at: Date;
}

/**
 * Payments by charge id: the business record, never deleted. A payment is written with its order's
 * change to PAID (OrdersService.markPaid), in one transaction.
 */
@Injectable()
export class PaymentsRepository {
  constructor(private readonly database: Database) {}

  async find(id: string): Promise<StoredPayment | undefined> {
    const [row] = (await this.database.query<PaymentRow>(FIND, [id])).rows;
    return (
      row && {
        id: row.id,
        orderId: row.order_id,
        ...customerAmountOf(row),
        status: row.status,
        createdAt: row.created_at.toISOString(),
        owner: row.owner,
      }
    );
  }
}
