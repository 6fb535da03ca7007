import { Inject, Injectable } from '@nestjs/common';
import { fromStore } from '../common/store-unavailable.js';
import type { RecordWrite } from '../orders/orders.repository.js';
import { REDIS_CLIENT, type RedisClient } from '../redis/index.js';
import type { StoredPayment } from './payment.js';

const paymentKey = (id: string) => `payment:${id}`;

/**
 * Payments by charge id, without expiry: they are the business record. A payment is written with
 * its order's change to PAID (OrdersService.markPaid), so this gives the record to write.
 */
@Injectable()
export class PaymentsRepository {
  constructor(@Inject(REDIS_CLIENT) private readonly redis: RedisClient) {}

  recordOf(payment: StoredPayment): RecordWrite {
    return { key: paymentKey(payment.id), value: JSON.stringify(payment) };
  }

  async find(id: string): Promise<StoredPayment | undefined> {
    const raw = await fromStore(this.redis.get(paymentKey(id)));
    return raw ? (JSON.parse(raw) as StoredPayment) : undefined;
  }
}
